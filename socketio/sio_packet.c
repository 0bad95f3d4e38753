/*
 * sio_packet: decoding and encoding of Socket.IO packets (protocol v4 and
 * v5), and the binary placeholder bookkeeping. The rules, and where they
 * differ from Node's socket.io-parser, are listed in sio_packet.h.
 *
 * Threading: any thread; no globals (the reserved-name table is const).
 * Ownership: a decoded packet owns its namespace and query (malloc), its
 * data (cJSON tree from sio_json_parse) and one reference per attachment
 * frame; sio_packet_clear releases them. The encoder only reads the packet
 * and takes its own frame references for sio_encoded.
 */
#include "engineio/eio_utf8.h"
#include "socketio/sio_packet.h"

#include <stdlib.h>
#include <string.h>

/* Event names a peer may not use (Node's RESERVED_EVENTS). */
static const char *const reserved_events[] = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

#define DEFAULT_MAX_ATTACHMENTS 10

const char *sio_packet_strerror(int err)
{
    switch (err) {
    case SIO_PACKET_OK: return "success";
    case SIO_PACKET_ERR_TYPE: return "unknown packet type";
    case SIO_PACKET_ERR_ATTACHMENTS: return "illegal attachments";
    case SIO_PACKET_ERR_TOO_MANY_ATTACHMENTS: return "too many attachments";
    case SIO_PACKET_ERR_NAMESPACE: return "invalid namespace";
    case SIO_PACKET_ERR_ACK_ID: return "invalid ack id";
    case SIO_PACKET_ERR_JSON: return "payload is not valid JSON";
    case SIO_PACKET_ERR_DEPTH: return "payload nested too deeply";
    case SIO_PACKET_ERR_PAYLOAD: return "invalid payload";
    case SIO_PACKET_ERR_RESERVED_EVENT: return "reserved event name";
    case SIO_PACKET_ERR_PLACEHOLDER: return "illegal binary placeholder";
    case SIO_PACKET_ERR_UNEXPECTED_ATTACHMENT:
        return "got binary data when not reconstructing a packet";
    case SIO_PACKET_ERR_VERSION: return "unsupported protocol version";
    case SIO_PACKET_ERR_UNEXPECTED_TEXT: return "got plaintext data when reconstructing a packet";
    case SIO_PACKET_ERR_MSGPACK: return "invalid MessagePack packet";
    case SIO_PACKET_ERR_ATTACHMENTS_TIMEOUT: return "binary attachments did not arrive in time";
    case SIO_PACKET_ERR_ATTACHMENTS_TOO_LARGE: return "binary packet too large";
    default: return "unknown packet error";
    }
}

const char *sio_packet_type_name(int version, int type)
{
    switch (type) {
    case SIO_PACKET_CONNECT: return "CONNECT";
    case SIO_PACKET_DISCONNECT: return "DISCONNECT";
    case SIO_PACKET_EVENT: return "EVENT";
    case SIO_PACKET_ACK: return "ACK";
    case SIO_PACKET_CONNECT_ERROR: return version == SIO_PROTOCOL_V4 ? "ERROR" : "CONNECT_ERROR";
    case SIO_PACKET_BINARY_EVENT: return "BINARY_EVENT";
    case SIO_PACKET_BINARY_ACK: return "BINARY_ACK";
    default: return "UNKNOWN";
    }
}

void sio_packet_clear(sio_packet *p)
{
    if (!p)
        return;
    free(p->nsp);
    free(p->query);
    sio_json_delete(p->data);
    for (size_t i = 0; i < p->attachment_count; i++)
        if (p->attachments)
            eio_frame_unref(p->attachments[i]);
    free(p->attachments);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------------------ */
/* Checks shared by the decoder and the encoder.                            */

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Namespace or query text: valid UTF-8 with no control characters and no
 * ',' (which would end the namespace). */
static int text_ok(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] == 0x7F || s[i] == ',')
            return 0;
    return eio_utf8_valid(s, len);
}

static int is_type(const cJSON *item, int type)
{
    return item && (item->type & 0xFF) == type;
}

/* Node's isPayloadValid, for a present payload (data != NULL), or the
 * absent-payload rule (data == NULL). */
static int check_payload(int version, int type, const cJSON *data)
{
    int v4 = version == SIO_PROTOCOL_V4;
    switch (type) {
    case SIO_PACKET_CONNECT:
        if (!data || is_type(data, cJSON_Object))
            return 0;
        if (v4 && (is_type(data, cJSON_Array) || is_type(data, cJSON_NULL)))
            return 0; /* typeof null, typeof [] === "object" */
        return SIO_PACKET_ERR_PAYLOAD;
    case SIO_PACKET_DISCONNECT: return data ? SIO_PACKET_ERR_PAYLOAD : 0;
    case SIO_PACKET_CONNECT_ERROR:
        if (!data || is_type(data, cJSON_Object) || is_type(data, cJSON_String))
            return 0;
        if (v4 && (is_type(data, cJSON_Array) || is_type(data, cJSON_NULL)))
            return 0;
        return SIO_PACKET_ERR_PAYLOAD;
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT: {
        if (!is_type(data, cJSON_Array) || !data->child)
            return SIO_PACKET_ERR_PAYLOAD;
        const cJSON *name = data->child;
        if (is_type(name, cJSON_Number)) {
            /* JSON.stringify writes Infinity (from 1e400) as null, which
             * would not read back as a name. */
            double v = name->valuedouble;
            return v - v == 0 ? 0 : SIO_PACKET_ERR_PAYLOAD;
        }
        if (!is_type(name, cJSON_String) || !name->valuestring)
            return SIO_PACKET_ERR_PAYLOAD;
        for (size_t i = 0; i < sizeof reserved_events / sizeof *reserved_events; i++)
            if (strcmp(name->valuestring, reserved_events[i]) == 0)
                return SIO_PACKET_ERR_RESERVED_EVENT;
        return 0;
    }
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK: return is_type(data, cJSON_Array) ? 0 : SIO_PACKET_ERR_PAYLOAD;
    default: return SIO_PACKET_ERR_TYPE;
    }
}

/* The "_placeholder" member of an object, or NULL. */
static const cJSON *placeholder_flag(const cJSON *object)
{
    for (const cJSON *c = object->child; c; c = c->next)
        if (c->string && c->string[0] == '_' && strcmp(c->string, "_placeholder") == 0)
            return c;
    return NULL;
}

/* 1 if object claims to be a placeholder (its _placeholder member is true). */
static int claims_placeholder(const cJSON *object)
{
    return is_type(placeholder_flag(object), cJSON_True);
}

long long sio_packet_placeholder_num(const cJSON *item)
{
    if (!is_type(item, cJSON_Object) || !claims_placeholder(item))
        return -1;
    const cJSON *num = NULL;
    size_t members = 0;
    for (const cJSON *c = item->child; c; c = c->next) {
        members++;
        if (c->string && strcmp(c->string, "num") == 0)
            num = c;
    }
    if (members != 2 || !is_type(num, cJSON_Number))
        return -1;
    double v = num->valuedouble;
    if (!(v >= 0) || v > 9007199254740991.0 || v != (double)(long long)v)
        return -1;
    return (long long)v;
}

cJSON *sio_packet_placeholder_new(size_t num)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *flag = cJSON_CreateTrue();
    cJSON *n = cJSON_CreateNumber((double)num);
    if (!o || !flag || !n)
        eio_oom();
    if (!cJSON_AddItemToObject(o, "_placeholder", flag) || !cJSON_AddItemToObject(o, "num", n))
        eio_oom();
    return o;
}

/* Checks every placeholder in a decoded tree: each num in [0, count) used
 * exactly once, and all used. With count == 0 no placeholder may appear.
 * Walks the tree with an explicit stack of sibling chains (no recursion). */
typedef struct placeholder_walk {
    const cJSON **stack;
    size_t depth, cap;
    unsigned char *used;
    size_t count, seen;
} placeholder_walk;

static int visit_for_placeholders(placeholder_walk *w, const cJSON *it)
{
    int t = it->type & 0xFF;
    if (t == cJSON_Object && claims_placeholder(it)) {
        long long num = sio_packet_placeholder_num(it);
        if (num < 0 || (unsigned long long)num >= w->count || w->used[num])
            return SIO_PACKET_ERR_PLACEHOLDER;
        w->used[num] = 1;
        w->seen++;
    } else if ((t == cJSON_Object || t == cJSON_Array) && it->child) {
        if (w->depth == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 16;
            w->stack = eio_realloc(w->stack, w->cap * sizeof *w->stack);
        }
        w->stack[w->depth++] = it->child;
    }
    return 0;
}

static int check_placeholders(const cJSON *data, size_t count)
{
    if (!data)
        return count == 0 ? 0 : SIO_PACKET_ERR_PLACEHOLDER;
    placeholder_walk w = {NULL, 0, 0, count ? eio_calloc(count, 1) : NULL, count, 0};
    int rc = visit_for_placeholders(&w, data);
    while (rc == 0 && w.depth > 0) {
        for (const cJSON *it = w.stack[--w.depth]; it && rc == 0; it = it->next)
            rc = visit_for_placeholders(&w, it);
    }
    if (rc == 0 && w.seen != count)
        rc = SIO_PACKET_ERR_PLACEHOLDER;
    free(w.stack);
    free(w.used);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Decoder.                                                                 */

static char *copy_text(const uint8_t *s, size_t len)
{
    return eio_strndup((const char *)s, len);
}

int sio_packet_decode(int version, const void *input, size_t len, const sio_packet_options *opt,
                      sio_packet *out, sio_json_error *json_err)
{
    const uint8_t *s = input;
    size_t max_attachments =
        opt && opt->max_attachments ? opt->max_attachments : DEFAULT_MAX_ATTACHMENTS;
    int max_depth = opt ? opt->max_depth : 0;
    sio_packet p = SIO_PACKET_INIT;
    int rc;
    memset(out, 0, sizeof *out);
    if (json_err) {
        json_err->code = SIO_JSON_OK;
        json_err->offset = 0;
        json_err->message = NULL;
    }

    if (version != SIO_PROTOCOL_V4 && version != SIO_PROTOCOL_V5)
        return SIO_PACKET_ERR_VERSION;
    if (len == 0 || !s || s[0] < '0' || s[0] > '6')
        return SIO_PACKET_ERR_TYPE;
    p.type = (sio_packet_type)(s[0] - '0');
    size_t i = 1;

    if (p.type == SIO_PACKET_BINARY_EVENT || p.type == SIO_PACKET_BINARY_ACK) {
        size_t start = i, n = 0;
        int too_many = 0;
        while (i < len && is_digit(s[i])) {
            n = n * 10 + (size_t)(s[i] - '0');
            if (n > max_attachments) {
                too_many = 1;
                n = max_attachments + 1; /* no overflow however many digits */
            }
            i++;
        }
        if (i == start || i >= len || s[i] != '-')
            return SIO_PACKET_ERR_ATTACHMENTS;
        if (too_many)
            return SIO_PACKET_ERR_TOO_MANY_ATTACHMENTS;
        if (n == 0)
            return SIO_PACKET_ERR_ATTACHMENTS;
        p.attachment_count = n;
        i++; /* the '-' */
    }

    if (i < len && s[i] == '/') {
        size_t start = i;
        while (i < len && s[i] != ',')
            i++;
        size_t end = i;
        if (i < len)
            i++; /* the ',' */
        if (!text_ok(s + start, end - start))
            return SIO_PACKET_ERR_NAMESPACE;
        size_t nsp_end = end;
        if (version == SIO_PROTOCOL_V4 && p.type == SIO_PACKET_CONNECT) {
            const uint8_t *q = memchr(s + start, '?', end - start);
            if (q) {
                nsp_end = (size_t)(q - s);
                p.query = copy_text(q + 1, end - nsp_end - 1);
            }
        }
        p.nsp = copy_text(s + start, nsp_end - start);
    } else {
        p.nsp = eio_strdup("/");
    }

    if (i < len && is_digit(s[i])) {
        uint64_t id = 0;
        while (i < len && is_digit(s[i])) {
            id = id * 10 + (uint64_t)(s[i] - '0');
            if (id > SIO_PACKET_MAX_ACK_ID) {
                rc = SIO_PACKET_ERR_ACK_ID;
                goto fail;
            }
            i++;
        }
        p.has_id = 1;
        p.id = id;
    }

    if (i < len) {
        sio_json_error jerr;
        p.data = sio_json_parse(s + i, len - i, max_depth, &jerr);
        if (!p.data) {
            if (json_err) {
                *json_err = jerr;
                json_err->offset += i; /* from the start of the packet */
            }
            rc = jerr.code == SIO_JSON_ERR_DEPTH ? SIO_PACKET_ERR_DEPTH : SIO_PACKET_ERR_JSON;
            goto fail;
        }
    }

    rc = check_payload(version, p.type, p.data);
    if (rc == 0)
        rc = check_placeholders(p.data, p.attachment_count);
    if (rc != 0)
        goto fail;

    if (p.attachment_count)
        p.attachments = eio_calloc(p.attachment_count, sizeof *p.attachments);
    *out = p;
    return 0;

fail:
    sio_packet_clear(&p);
    return rc;
}

int sio_packet_is_complete(const sio_packet *p)
{
    return p->attachments_received >= p->attachment_count;
}

int sio_packet_add_attachment_frame(sio_packet *p, eio_frame *frame)
{
    if (p->attachments_received >= p->attachment_count || !p->attachments) {
        eio_frame_unref(frame);
        return SIO_PACKET_ERR_UNEXPECTED_ATTACHMENT;
    }
    p->attachments[p->attachments_received++] = frame;
    return p->attachments_received == p->attachment_count;
}

int sio_packet_add_attachment(sio_packet *p, const void *data, size_t len)
{
    if (p->attachments_received >= p->attachment_count || !p->attachments)
        return SIO_PACKET_ERR_UNEXPECTED_ATTACHMENT;
    return sio_packet_add_attachment_frame(p, eio_frame_from(data, len));
}

/* ------------------------------------------------------------------------ */
/* Encoder.                                                                 */

void sio_encoded_free(sio_encoded *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->attachment_count; i++)
        eio_frame_unref(e->attachments[i]);
    free(e->attachments);
    eio_buf_free(&e->text);
    e->attachments = NULL;
    e->attachment_count = e->attachment_cap = 0;
    e->binary = 0;
}

typedef struct encode_ctx {
    const sio_packet *p;
    sio_encoded *e;
    int binary_allowed;
} encode_ctx;

/* Printer hook: writes each placeholder renumbered in print order (Node's
 * depth-first order) and collects its frame. */
static int encode_placeholder(void *ctx, const cJSON *object, eio_buf *out)
{
    encode_ctx *c = ctx;
    if (!claims_placeholder(object))
        return 0;
    if (!c->binary_allowed)
        return SIO_PACKET_ERR_PLACEHOLDER;
    long long num = sio_packet_placeholder_num(object);
    if (num < 0 || (unsigned long long)num >= c->p->attachment_count || !c->p->attachments ||
        !c->p->attachments[num])
        return SIO_PACKET_ERR_PLACEHOLDER;
    sio_encoded *e = c->e;
    if (e->attachment_count == e->attachment_cap) {
        e->attachment_cap = e->attachment_cap ? e->attachment_cap * 2 : 4;
        e->attachments = eio_realloc(e->attachments, e->attachment_cap * sizeof *e->attachments);
    }
    eio_buf_append_str(out, "{\"_placeholder\":true,\"num\":");
    eio_buf_append_uint(out, e->attachment_count);
    eio_buf_append_byte(out, '}');
    e->attachments[e->attachment_count++] = eio_frame_ref(c->p->attachments[num]);
    return 1;
}

static void drop_encoded(sio_encoded *e)
{
    for (size_t i = 0; i < e->attachment_count; i++)
        eio_frame_unref(e->attachments[i]);
    e->attachment_count = 0;
    eio_buf_reset(&e->text);
}

int sio_packet_encode(int version, const sio_packet *p, sio_encoded *e)
{
    drop_encoded(e);
    if (version != SIO_PROTOCOL_V4 && version != SIO_PROTOCOL_V5)
        return SIO_PACKET_ERR_VERSION;
    int type = (int)p->type;
    if (type < SIO_PACKET_CONNECT || type > SIO_PACKET_BINARY_ACK)
        return SIO_PACKET_ERR_TYPE;

    const char *nsp = p->nsp && p->nsp[0] ? p->nsp : "/";
    size_t nsp_len = strlen(nsp);
    int with_query = version == SIO_PROTOCOL_V4 && type == SIO_PACKET_CONNECT && p->query;
    if (nsp[0] != '/' || !text_ok((const uint8_t *)nsp, nsp_len))
        return SIO_PACKET_ERR_NAMESPACE;
    /* v4 CONNECT: the decoder splits the namespace at its first '?'. */
    if (version == SIO_PROTOCOL_V4 && type == SIO_PACKET_CONNECT && memchr(nsp, '?', nsp_len))
        return SIO_PACKET_ERR_NAMESPACE;
    if (with_query && !text_ok((const uint8_t *)p->query, strlen(p->query)))
        return SIO_PACKET_ERR_NAMESPACE;
    if (p->has_id && p->id > SIO_PACKET_MAX_ACK_ID)
        return SIO_PACKET_ERR_ACK_ID;
    int rc = check_payload(version, type, p->data);
    if (rc != 0)
        return rc;

    int event_like = type == SIO_PACKET_EVENT || type == SIO_PACKET_BINARY_EVENT;
    int ack_like = type == SIO_PACKET_ACK || type == SIO_PACKET_BINARY_ACK;
    eio_buf *out = &e->text;
    eio_buf_append_byte(out, (uint8_t)('0' + type));
    if (strcmp(nsp, "/") != 0 || with_query) {
        eio_buf_append(out, nsp, nsp_len);
        if (with_query) {
            eio_buf_append_byte(out, '?');
            eio_buf_append_str(out, p->query);
        }
        eio_buf_append_byte(out, ',');
    }
    if (p->has_id)
        eio_buf_append_uint(out, p->id);
    if (p->data) {
        encode_ctx ctx = {p, e, event_like || ack_like};
        rc = sio_json_print_hook(out, p->data, encode_placeholder, &ctx);
        if (rc < 0) {
            drop_encoded(e);
            return rc;
        }
    }

    if (event_like || ack_like) {
        if (e->attachment_count > 0) {
            /* Insert "<count>-" after the type digit (binary packets only). */
            char head[24];
            size_t n = 0;
            size_t v = e->attachment_count;
            char rev[24];
            do {
                rev[n++] = (char)('0' + v % 10);
                v /= 10;
            } while (v);
            for (size_t k = 0; k < n; k++)
                head[k] = rev[n - 1 - k];
            head[n++] = '-';
            eio_buf_reserve(out, n);
            memmove(out->data + 1 + n, out->data + 1, out->len - 1);
            memcpy(out->data + 1, head, n);
            out->len += n;
            out->data[0] =
                (uint8_t)('0' + (event_like ? SIO_PACKET_BINARY_EVENT : SIO_PACKET_BINARY_ACK));
        } else {
            out->data[0] = (uint8_t)('0' + (event_like ? SIO_PACKET_EVENT : SIO_PACKET_ACK));
        }
    }
    return 0;
}
