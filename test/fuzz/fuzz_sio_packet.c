/*
 * libFuzzer driver for sio_packet. The first input byte picks the protocol
 * version (bit 0: v4 or v5); the rest is a Socket.IO packet text. When it is
 * accepted: its attachments are supplied (attachment i holds the byte i),
 * it is encoded, the text is decoded again and given the encoded
 * attachments, and both packets must be the same (type up to binary/plain,
 * namespace, query, ack id, data with each placeholder replaced by its
 * attachment's bytes). Crashes, leaks and sanitizer reports fail.
 * Threading: single thread. Ownership: everything is freed per input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/sio_packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints a placeholder as the hex of the attachment it stands for. */
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

/* A canonical description of a complete packet, for comparison. */
static void describe(const sio_packet *p, eio_buf *out)
{
    int type = p->type;
    if (type == SIO_PACKET_BINARY_EVENT)
        type = SIO_PACKET_EVENT;
    if (type == SIO_PACKET_BINARY_ACK)
        type = SIO_PACKET_ACK;
    eio_buf_append_uint(out, (uint64_t)type);
    eio_buf_append_byte(out, '|');
    eio_buf_append_str(out, p->nsp);
    eio_buf_append_byte(out, '|');
    if (p->query)
        eio_buf_append_str(out, p->query);
    else
        eio_buf_append_str(out, "(none)");
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
    int version = (data[0] & 1) ? SIO_PROTOCOL_V4 : SIO_PROTOCOL_V5;
    sio_packet_options opt = {(data[0] & 2) ? 20 : 0, (data[0] & 4) ? 8 : 0, 0, 0, 0};
    sio_packet p;
    sio_json_error jerr;
    int rc = sio_packet_decode(version, data + 1, size - 1, &opt, &p, &jerr);
    if (rc != 0) {
        if (rc > 0 || !sio_packet_strerror(rc) || p.nsp || p.data)
            abort();
        return 0;
    }
    if (!p.nsp || p.nsp[0] != '/')
        abort();
    for (size_t i = 0; i < p.attachment_count; i++) {
        uint8_t byte = (uint8_t)i;
        if (sio_packet_add_attachment(&p, &byte, 1) != (i + 1 == p.attachment_count))
            abort();
    }
    if (!sio_packet_is_complete(&p))
        abort();

    sio_encoded e = SIO_ENCODED_INIT;
    if (sio_packet_encode(version, &p, &e) != 0)
        abort(); /* whatever we accept we can write back */
    sio_packet q;
    if (sio_packet_decode(version, e.text.data, e.text.len, &opt, &q, NULL) != 0)
        abort();
    if (q.attachment_count != e.attachment_count)
        abort();
    for (size_t i = 0; i < e.attachment_count; i++)
        if (sio_packet_add_attachment_frame(&q, eio_frame_ref(e.attachments[i])) < 0)
            abort();

    eio_buf d1 = EIO_BUF_INIT, d2 = EIO_BUF_INIT;
    describe(&p, &d1);
    describe(&q, &d2);
    if (d1.len != d2.len || memcmp(d1.data, d2.data, d1.len) != 0)
        abort();

    /* Encoding the second packet gives the same text: a fixed point. */
    sio_encoded e2 = SIO_ENCODED_INIT;
    if (sio_packet_encode(version, &q, &e2) != 0 || e2.text.len != e.text.len ||
        memcmp(e2.text.data, e.text.data, e.text.len) != 0)
        abort();

    sio_encoded_free(&e2);
    eio_buf_free(&d1);
    eio_buf_free(&d2);
    sio_encoded_free(&e);
    sio_packet_clear(&q);
    sio_packet_clear(&p);
    return 0;
}
