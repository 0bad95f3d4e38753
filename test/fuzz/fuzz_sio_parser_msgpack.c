/*
 * libFuzzer driver for the msgpack parser (sio_packet_decode_msgpack /
 * sio_packet_encode_msgpack, socketio/sio_parser.c). The first byte picks the
 * options (bit 0: at most 2 attachments; bit 1: JSON depth 8); the rest is one
 * Engine.IO binary message. When it is accepted as a packet: it is encoded
 * again, decoded again, and both packets must be the same (type, namespace,
 * ack id, data with each placeholder replaced by its bytes); encoding the
 * second gives the same bytes. Crashes, leaks and sanitizer reports fail.
 * Threading: single thread. Ownership: everything is freed per input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/sio_json.h"
#include "socketio/sio_packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int resolve(void *ctx, const cJSON *object, eio_buf *out)
{
    const sio_packet *p = ctx;
    long long num = sio_packet_placeholder_num(object);
    if (num < 0)
        return 0;
    if ((size_t)num >= p->attachment_count || !p->attachments[num])
        abort();
    const eio_frame *f = p->attachments[num];
    eio_buf_append_str(out, "<bin:");
    for (size_t i = 0; i < f->len; i++) {
        char hex[3];
        snprintf(hex, sizeof hex, "%02x", f->data[i]);
        eio_buf_append(out, hex, 2);
    }
    eio_buf_append_byte(out, '>');
    return 1;
}

static void describe(const sio_packet *p, eio_buf *out)
{
    eio_buf_append_uint(out, (uint64_t)p->type);
    eio_buf_append_byte(out, '|');
    eio_buf_append_str(out, p->nsp);
    eio_buf_append_byte(out, '|');
    if (p->has_id)
        eio_buf_append_uint(out, p->id);
    eio_buf_append_byte(out, '|');
    if (p->data && sio_json_print_hook(out, p->data, resolve, (void *)p) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    sio_packet_options opt = {(data[0] & 1) ? 2 : 0, (data[0] & 2) ? 8 : 0, 0, 0, 0};
    sio_packet p;
    int rc = sio_packet_decode_msgpack(data + 1, size - 1, &opt, &p);
    if (rc != 0) {
        if (rc > 0 || !sio_packet_strerror(rc) || p.nsp || p.data || p.attachments)
            abort();
        return 0;
    }
    if (!p.nsp || p.nsp[0] != '/' || !sio_packet_is_complete(&p))
        abort();
    eio_buf e = EIO_BUF_INIT;
    if (sio_packet_encode_msgpack(&p, &e) != 0)
        abort(); /* whatever we accept we can write back */
    sio_packet q;
    if (sio_packet_decode_msgpack(e.data, e.len, &opt, &q) != 0)
        abort();
    eio_buf d1 = EIO_BUF_INIT, d2 = EIO_BUF_INIT;
    describe(&p, &d1);
    describe(&q, &d2);
    if (d1.len != d2.len || memcmp(d1.data, d2.data, d1.len) != 0)
        abort();
    eio_buf e2 = EIO_BUF_INIT;
    if (sio_packet_encode_msgpack(&q, &e2) != 0 || e2.len != e.len ||
        memcmp(e2.data, e.data, e.len) != 0)
        abort();
    eio_buf_free(&e2);
    eio_buf_free(&d1);
    eio_buf_free(&d2);
    eio_buf_free(&e);
    sio_packet_clear(&q);
    sio_packet_clear(&p);
    return 0;
}
