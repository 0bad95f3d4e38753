/*
 * sio_parser: the two Socket.IO parsers behind one interface (sio_packet.h),
 * as Node's `parser` option: socket.io-parser (the default: a text packet,
 * then its binary attachments as messages of their own) and
 * socket.io-msgpack-parser 3.x (each packet one binary MessagePack message,
 * binary values inside it, notepack's encoding: socketio/sio_msgpack.c).
 *
 * Threading: pure; any thread, one decoder state per connection.
 * Ownership: decoded packets belong to the caller (sio_packet_clear); the
 * decoder state owns its partial packet.
 */
#include <stdlib.h>
#include <string.h>

#include "socketio/sio_json.h"
#include "socketio/sio_msgpack.h"
#include "socketio/sio_packet.h"

void sio_packet_decoder_clear(sio_packet_decoder *d)
{
    sio_packet_clear(&d->partial);
    d->reconstructing = 0;
    d->started_ms = 0;
    d->bytes = 0;
}

int sio_packet_decoder_check(sio_packet_decoder *d, const sio_packet_options *opt, uint64_t now_ms,
                             uint64_t *deadline_ms)
{
    uint64_t deadline = 0;
    if (d->reconstructing && opt && opt->binary_timeout_ms > 0)
        deadline = d->started_ms + (uint64_t)opt->binary_timeout_ms;
    if (deadline_ms)
        *deadline_ms = deadline;
    if (deadline && now_ms >= deadline) {
        sio_packet_decoder_clear(d);
        return SIO_PACKET_ERR_ATTACHMENTS_TIMEOUT;
    }
    return 0;
}

/* Whether n more bytes would take the packet being reconstructed past
 * opt->max_binary_bytes. */
static int over_bytes(const sio_packet_decoder *d, const sio_packet_options *opt, size_t n)
{
    return opt && opt->max_binary_bytes && n > opt->max_binary_bytes - d->bytes;
}

/* ---------------------------------------------------------------- default */

static int default_encode(int version, const sio_packet *p, sio_encoded *e)
{
    int r = sio_packet_encode(version, p, e);
    e->binary = 0;
    return r;
}

static int default_decode(int version, const uint8_t *data, size_t len, int binary,
                          const sio_packet_options *opt, sio_packet_decoder *d, sio_packet *out)
{
    if (binary) {
        if (!d->reconstructing)
            return SIO_PACKET_ERR_UNEXPECTED_ATTACHMENT;
        int late = sio_packet_decoder_check(d, opt, opt ? opt->now_ms : 0, NULL);
        if (late < 0)
            return late;
        if (over_bytes(d, opt, len)) {
            sio_packet_decoder_clear(d);
            return SIO_PACKET_ERR_ATTACHMENTS_TOO_LARGE;
        }
        d->bytes += len;
        int r = sio_packet_add_attachment(&d->partial, data, len);
        if (r < 0) {
            sio_packet_decoder_clear(d);
            return r;
        }
        if (r == 0)
            return 0;
        *out = d->partial;
        memset(&d->partial, 0, sizeof(d->partial));
        sio_packet_decoder_clear(d);
        return 1;
    }
    if (d->reconstructing) {
        sio_packet_decoder_clear(d);
        return SIO_PACKET_ERR_UNEXPECTED_TEXT;
    }
    sio_packet p;
    int r = sio_packet_decode(version, data, len, opt, &p, NULL);
    if (r < 0)
        return r;
    if (!sio_packet_is_complete(&p)) {
        if (over_bytes(d, opt, len)) {
            sio_packet_clear(&p);
            return SIO_PACKET_ERR_ATTACHMENTS_TOO_LARGE;
        }
        d->partial = p;
        d->reconstructing = 1;
        d->started_ms = opt ? opt->now_ms : 0;
        d->bytes = len;
        return 0;
    }
    *out = p;
    return 1;
}

const sio_parser sio_parser_default = {"default", default_encode, default_decode};

/* ---------------------------------------------------------------- msgpack */

static const uint8_t *attachment_bytes(const cJSON *item, size_t *len, void *ud)
{
    const sio_packet *p = ud;
    long long num = sio_packet_placeholder_num(item);
    if (num < 0 || (size_t)num >= p->attachment_count || !p->attachments[num])
        return NULL;
    *len = p->attachments[num]->len;
    return p->attachments[num]->data;
}

int sio_packet_encode_msgpack(const sio_packet *p, eio_buf *out)
{
    int type = (int)p->type;
    if (type == SIO_PACKET_BINARY_EVENT)
        type = SIO_PACKET_EVENT;
    else if (type == SIO_PACKET_BINARY_ACK)
        type = SIO_PACKET_ACK;
    if (type < SIO_PACKET_CONNECT || type > SIO_PACKET_CONNECT_ERROR)
        return SIO_PACKET_ERR_TYPE;
    if (p->has_id && p->id > SIO_PACKET_MAX_ACK_ID)
        return SIO_PACKET_ERR_ACK_ID;
    const char *nsp = p->nsp && p->nsp[0] ? p->nsp : "/";
    /* The packet object with its keys in the order socket.io 4.8 gives them,
     * so that the bytes are Node's: {id, type, data, nsp} for an ack
     * (socket.ack builds {id, type, data}, socket.packet adds nsp), {type,
     * data, id, nsp} for an event with an ack id (emit adds the id before
     * packet adds nsp), {type, data, nsp} otherwise. The data goes in by
     * reference (cJSON's reference items: not copied, not freed with the
     * tree). */
    cJSON *m = cJSON_CreateObject();
    if (p->has_id && type == SIO_PACKET_ACK)
        cJSON_AddNumberToObject(m, "id", (double)p->id);
    cJSON_AddNumberToObject(m, "type", type);
    if (cJSON_IsArray(p->data))
        cJSON_AddItemToObject(m, "data", cJSON_CreateArrayReference(p->data->child));
    else if (cJSON_IsObject(p->data))
        cJSON_AddItemToObject(m, "data", cJSON_CreateObjectReference(p->data->child));
    else if (p->data)
        cJSON_AddItemToObject(m, "data", cJSON_Duplicate(p->data, 1));
    if (p->has_id && type != SIO_PACKET_ACK)
        cJSON_AddNumberToObject(m, "id", (double)p->id);
    cJSON_AddItemToObject(m, "nsp", sio_json_create_string(nsp, strlen(nsp)));
    size_t before = out->len;
    int r = sio_msgpack_encode(m, SIO_MSGPACK_MAX_DEPTH_LIMIT, attachment_bytes, (void *)p, out);
    sio_json_delete(m);
    if (r != 0) {
        out->len = before;
        return SIO_PACKET_ERR_PAYLOAD;
    }
    return 0;
}

static int msgpack_encode(int version, const sio_packet *p, sio_encoded *e)
{
    (void)version;
    sio_encoded_free(e);
    int r = sio_packet_encode_msgpack(p, &e->text);
    e->binary = 1;
    if (r != 0)
        eio_buf_reset(&e->text);
    return r;
}

typedef struct bins {
    sio_packet *p;
    size_t max;
    int over;
} bins;

static cJSON *add_bin(const uint8_t *data, size_t len, void *ud)
{
    bins *b = ud;
    if (b->p->attachment_count >= b->max) {
        b->over = 1;
        return NULL;
    }
    size_t n = b->p->attachment_count;
    b->p->attachments = eio_realloc(b->p->attachments, (n + 1) * sizeof(*b->p->attachments));
    b->p->attachments[n] = eio_frame_from(data, len);
    b->p->attachment_count = b->p->attachments_received = n + 1;
    return sio_packet_placeholder_new(n);
}

/* Whether the tree holds a placeholder (depth is bounded by the decoder). */
static int has_placeholder(const cJSON *v)
{
    if (sio_packet_placeholder_num(v) >= 0)
        return 1;
    for (const cJSON *c = v ? v->child : NULL; c; c = c->next)
        if ((cJSON_IsArray(c) || cJSON_IsObject(c)) && has_placeholder(c))
            return 1;
    return 0;
}

/* Number.isInteger (the cast is only made in range). */
static int is_integer(const cJSON *v)
{
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    return d > -9.0e18 && d < 9.0e18 && d == (double)(long long)d;
}

int sio_packet_decode_msgpack(const uint8_t *data, size_t len, const sio_packet_options *opt,
                              sio_packet *out)
{
    memset(out, 0, sizeof(*out));
    size_t max = opt && opt->max_attachments ? opt->max_attachments : 10;
    int depth = opt && opt->max_depth > 0 ? opt->max_depth : SIO_JSON_DEFAULT_MAX_DEPTH;
    bins b = {out, max, 0};
    cJSON *m = NULL;
    const char *why;
    if (sio_msgpack_decode(data, len, depth + 1, add_bin, &b, &m, &why) != 0) {
        int over = b.over;
        sio_packet_clear(out);
        return over                           ? SIO_PACKET_ERR_TOO_MANY_ATTACHMENTS
               : strcmp(why, "too deep") == 0 ? SIO_PACKET_ERR_DEPTH
                                              : SIO_PACKET_ERR_MSGPACK;
    }
    int err = 0;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "type");
    const cJSON *nsp = cJSON_GetObjectItemCaseSensitive(m, "nsp");
    cJSON *d = cJSON_GetObjectItemCaseSensitive(m, "data");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
    if (!cJSON_IsObject(m)) {
        err = SIO_PACKET_ERR_MSGPACK;
    } else if (!is_integer(type) || type->valuedouble < SIO_PACKET_CONNECT ||
               type->valuedouble > SIO_PACKET_CONNECT_ERROR) {
        err = SIO_PACKET_ERR_TYPE; /* "invalid packet type" */
    } else if (!cJSON_IsString(nsp) || nsp->valuestring[0] != '/') {
        err = SIO_PACKET_ERR_NAMESPACE; /* "invalid namespace" */
    } else {
        int t = (int)type->valuedouble;
        int ok;
        switch (t) {
        case SIO_PACKET_CONNECT: ok = !d || cJSON_IsObject(d); break;
        case SIO_PACKET_DISCONNECT: ok = !d; break;
        case SIO_PACKET_CONNECT_ERROR: ok = cJSON_IsString(d) || cJSON_IsObject(d); break;
        default: ok = cJSON_IsArray(d); break;
        }
        if (!ok)
            err = SIO_PACKET_ERR_PAYLOAD; /* "invalid payload" */
        else if (id && (!is_integer(id) || id->valuedouble < 0 ||
                        id->valuedouble > (double)SIO_PACKET_MAX_ACK_ID))
            err = SIO_PACKET_ERR_ACK_ID; /* "invalid packet id" */
        else if (t == SIO_PACKET_EVENT &&
                 (cJSON_GetArraySize(d) < 1 || !cJSON_IsString(cJSON_GetArrayItem(d, 0))))
            err = SIO_PACKET_ERR_PAYLOAD; /* socket.io: an event needs its name */
        if (!err) {
            /* Binary values in data make it a BINARY_* packet, as the default
             * parser gives it; binary elsewhere in the map is ignored (as
             * socket.io ignores members it does not know). */
            int bin = d && has_placeholder(d);
            out->type = (sio_packet_type)t;
            if (bin && t == SIO_PACKET_EVENT)
                out->type = SIO_PACKET_BINARY_EVENT;
            else if (bin && t == SIO_PACKET_ACK)
                out->type = SIO_PACKET_BINARY_ACK;
            else if (bin)
                err = SIO_PACKET_ERR_PLACEHOLDER; /* binary where socket.io takes none */
            out->nsp = eio_strdup(nsp->valuestring);
            if (id) {
                out->has_id = 1;
                out->id = (uint64_t)id->valuedouble;
            }
            if (d)
                out->data = cJSON_DetachItemViaPointer(m, d);
        }
    }
    sio_json_delete(m);
    if (err)
        sio_packet_clear(out);
    return err;
}

static int msgpack_decode(int version, const uint8_t *data, size_t len, int binary,
                          const sio_packet_options *opt, sio_packet_decoder *d, sio_packet *out)
{
    (void)version;
    (void)d;
    if (!binary)
        return SIO_PACKET_ERR_MSGPACK; /* notepack cannot decode a string */
    int r = sio_packet_decode_msgpack(data, len, opt, out);
    return r < 0 ? r : 1;
}

const sio_parser sio_parser_msgpack = {"msgpack", msgpack_encode, msgpack_decode};
