/*
 * eio_packet: the Engine.IO packet and payload codec, protocol v3 and v4: one
 * packet per WebSocket message, the three polling payload framings, JSONP
 * wrapping (v3) and base64. See eio_packet.h for the wire facts.
 *
 * Where the specs are silent the Node server (engine.io's lib/parser-v3 for
 * v3, engine.io-parser for v4, transports/polling-jsonp) decides; we are
 * stricter than Node where Node is merely lenient (odd length prefixes, stray
 * bytes) and refuse instead of guessing.
 *
 * Threading: any thread; no globals except constant tables; calls share nothing.
 * Ownership: decoders never allocate for text: packets point into the caller's
 * input. Base64 binary is decoded into a caller-provided scratch eio_buf (the
 * reader's own for payloads). Encoders append to a caller-owned eio_buf.
 */
#include "eio_packet.h"

#include <string.h>

#include "eio_utf8.h"

#define RECORD_SEPARATOR      0x1e
#define V3_BINARY_LENGTH_END  0xff
#define V3_BINARY_KIND_STRING 0
#define V3_BINARY_KIND_BINARY 1

const char *eio_strerror(int err)
{
    switch (err) {
    case EIO_OK: return "success";
    case EIO_ERR_PARSE: return "malformed packet or payload";
    case EIO_ERR_TOO_LARGE: return "over a size limit";
    case EIO_ERR_UTF8: return "text that is not valid UTF-8";
    default: return "unknown error";
    }
}

/* Stores the packet type named by the digit c; returns 0, or -1 if c is not
 * one of '0'..'6'. */
static int type_from_digit(uint8_t c, eio_packet_type *type)
{
    if (c < '0' || c > '6')
        return -1;
    *type = (eio_packet_type)(c - '0');
    return 0;
}

/* Same for a raw type byte (v3 binary frames and binary payload records). */
static int type_from_byte(uint8_t c, eio_packet_type *type)
{
    if (c > EIO_PACKET_NOOP)
        return -1;
    *type = (eio_packet_type)c;
    return 0;
}

static uint8_t type_digit(eio_packet_type type)
{
    return (uint8_t)('0' + ((unsigned)type <= EIO_PACKET_NOOP ? (unsigned)type : 0u));
}

static uint8_t type_byte(eio_packet_type type)
{
    return (uint8_t)((unsigned)type <= EIO_PACKET_NOOP ? (unsigned)type : 0u);
}

/* ---- base64 ---------------------------------------------------------------
 * Written by hand rather than with OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock:
 * EVP_DecodeBlock wants a multiple of 4 characters, skips surrounding
 * whitespace and reports padding bytes as data, while Node's
 * Buffer.from(s, "base64") (what the server uses on "b..." packets) also
 * accepts unpadded input. Our decoder accepts the standard alphabet, either
 * correctly padded (length a multiple of 4, at most two '=' at the end) or
 * unpadded (length mod 4 of 0, 2 or 3); it refuses whitespace, the URL-safe
 * alphabet, '=' elsewhere and a lone trailing character. Non-zero bits left
 * over in the last character are ignored, as Node and browsers do. This also
 * keeps the codec free of a libcrypto dependency. */

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Returns the 6-bit value of a base64 character, or -1. */
static int base64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static size_t base64_encoded_length(size_t n)
{
    return (n / 3 + (n % 3 != 0)) * 4;
}

void eio_base64_encode(const uint8_t *in, size_t len, eio_buf *out)
{
    size_t need = base64_encoded_length(len);
    if (need == 0)
        return;
    uint8_t *p = eio_buf_reserve(out, need);
    size_t i = 0, o = 0;
    for (; len - i >= 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        p[o++] = (uint8_t)base64_alphabet[v >> 18];
        p[o++] = (uint8_t)base64_alphabet[(v >> 12) & 63];
        p[o++] = (uint8_t)base64_alphabet[(v >> 6) & 63];
        p[o++] = (uint8_t)base64_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        p[o++] = (uint8_t)base64_alphabet[v >> 18];
        p[o++] = (uint8_t)base64_alphabet[(v >> 12) & 63];
        p[o++] = '=';
        p[o++] = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        p[o++] = (uint8_t)base64_alphabet[v >> 18];
        p[o++] = (uint8_t)base64_alphabet[(v >> 12) & 63];
        p[o++] = (uint8_t)base64_alphabet[(v >> 6) & 63];
        p[o++] = '=';
    }
    eio_buf_advance(out, o);
}

/* Bytes are written into reserved space and only committed at the end, so on
 * error nothing is appended. */
int eio_base64_decode(const uint8_t *in, size_t len, eio_buf *out)
{
    size_t n = len;
    if (n > 0 && n % 4 == 0 && in[n - 1] == '=') {
        n--;
        if (in[n - 1] == '=')
            n--;
    }
    if (n % 4 == 1)
        return EIO_ERR_PARSE;
    size_t out_len = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (out_len == 0)
        return EIO_OK;
    uint8_t *p = eio_buf_reserve(out, out_len);
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = base64_value(in[i]);
        if (v < 0)
            return EIO_ERR_PARSE;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            p[o++] = (uint8_t)(acc >> bits);
        }
    }
    eio_buf_advance(out, o);
    return EIO_OK;
}

/* ---- single packets ------------------------------------------------------ */

/* Decodes a packet in text form, "<type><data>" or "b..." base64 binary ("b" +
 * base64 in v4, "b<type>" + base64 in v3), from s[0..len). */
static int decode_text_packet(int version, const uint8_t *s, size_t len, eio_buf *scratch,
                              eio_packet *out)
{
    eio_packet_type type = EIO_PACKET_MESSAGE;
    if (len == 0)
        return EIO_ERR_PARSE;
    if (s[0] == 'b') {
        size_t skip = 1;
        if (version != 4) {
            if (len < 2 || type_from_digit(s[1], &type) != 0)
                return EIO_ERR_PARSE;
            skip = 2;
        }
        eio_buf_reset(scratch);
        if (eio_base64_decode(s + skip, len - skip, scratch) != EIO_OK)
            return EIO_ERR_PARSE;
        out->type = type;
        out->binary = 1;
        out->len = scratch->len;
        out->data = scratch->len ? scratch->data : s + len;
        return EIO_OK;
    }
    if (type_from_digit(s[0], &type) != 0)
        return EIO_ERR_PARSE;
    out->type = type;
    out->binary = 0;
    out->data = s + 1;
    out->len = len - 1;
    return EIO_OK;
}

/* Version 4 is v4; any other value is treated as v3, as the Node server treats
 * any EIO other than 4 as 3. */
int eio_packet_decode(int version, int binary_frame, const uint8_t *msg, size_t len,
                      eio_buf *scratch, eio_packet *out)
{
    if (!binary_frame)
        return decode_text_packet(version, msg, len, scratch, out);
    if (version == 4) {
        out->type = EIO_PACKET_MESSAGE;
        out->binary = 1;
        out->data = msg;
        out->len = len;
        return EIO_OK;
    }
    eio_packet_type type;
    if (len == 0 || type_from_byte(msg[0], &type) != 0)
        return EIO_ERR_PARSE;
    out->type = type;
    out->binary = 1;
    out->data = msg + 1;
    out->len = len - 1;
    return EIO_OK;
}

void eio_packet_encode_text(int version, const eio_packet *p, eio_buf *out)
{
    if (p->binary) {
        eio_buf_append_byte(out, 'b');
        if (version != 4)
            eio_buf_append_byte(out, type_digit(p->type));
        eio_base64_encode(p->data, p->len, out);
        return;
    }
    eio_buf_append_byte(out, type_digit(p->type));
    eio_buf_append(out, p->data, p->len);
}

/* A v4 binary frame carries no type: a binary packet of another type than
 * message loses its type there (v4 has no way to say it). */
int eio_packet_encode_ws(int version, const eio_packet *p, eio_buf *out)
{
    if (!p->binary) {
        eio_packet_encode_text(version, p, out);
        return 0;
    }
    if (version != 4)
        eio_buf_append_byte(out, type_byte(p->type));
    eio_buf_append(out, p->data, p->len);
    return 1;
}

/* ---- payload reader ------------------------------------------------------ */

/* The packet rules (v3 "b4" or v4 "b") follow the format, not r->version:
 * EIO_PAYLOAD_V4 is v4, the other two are v3. Empty payloads and text
 * payloads that are not valid UTF-8 are refused here, before any packet is
 * returned, so a bad payload never delivers half of its packets because of
 * its encoding. */
void eio_payload_reader_init(eio_payload_reader *r, int version, eio_payload_format format,
                             const uint8_t *buf, size_t len)
{
    r->version = version;
    r->format = format;
    r->buf = buf;
    r->len = len;
    r->pos = 0;
    r->error = EIO_OK;
    r->scratch = (eio_buf)EIO_BUF_INIT;
    if (len == 0)
        r->error = EIO_ERR_PARSE;
    else if (format != EIO_PAYLOAD_V3_BINARY && !eio_utf8_valid(buf, len))
        r->error = EIO_ERR_UTF8;
    else if (format != EIO_PAYLOAD_V4 && format != EIO_PAYLOAD_V3_TEXT &&
             format != EIO_PAYLOAD_V3_BINARY)
        r->error = EIO_ERR_PARSE;
}

void eio_payload_reader_free(eio_payload_reader *r)
{
    eio_buf_free(&r->scratch);
}

/* v4: pieces separated by 0x1e. After a piece r->pos is at the separator that
 * ended it (or at the end), so a separator at the very end leaves an empty
 * last piece, which is an error as in Node. */
static int next_v4(eio_payload_reader *r, eio_packet *out)
{
    if (r->pos == r->len)
        return 0;
    size_t start = r->pos == 0 ? 0 : r->pos + 1;
    const uint8_t *sep = memchr(r->buf + start, RECORD_SEPARATOR, r->len - start);
    size_t end = sep ? (size_t)(sep - r->buf) : r->len;
    int rc = decode_text_packet(4, r->buf + start, end - start, &r->scratch, out);
    if (rc != EIO_OK)
        return rc;
    r->pos = end;
    return 1;
}

/* Reads at most EIO_PAYLOAD_MAX_LENGTH_DIGITS decimal digits at r->pos, each
 * digit being the byte '0'..'9' (text) or the value 0..9 (binary framing),
 * refusing values larger than `limit`. Returns 0 and the value, or -1. */
static int read_length(eio_payload_reader *r, int text_digits, size_t limit, size_t *value)
{
    size_t v = 0, digits = 0;
    while (r->pos < r->len) {
        uint8_t c = r->buf[r->pos];
        unsigned d;
        if (text_digits) {
            if (c < '0' || c > '9')
                break;
            d = (unsigned)(c - '0');
        } else {
            if (c > 9)
                break;
            d = c;
        }
        if (++digits > EIO_PAYLOAD_MAX_LENGTH_DIGITS)
            return -1;
        if (d > limit || v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
        r->pos++;
    }
    if (digits == 0)
        return -1;
    *value = v;
    return 0;
}

/* v3 text: "<len>:<packet>", len in UTF-16 code units. A zero length ("0:",
 * what Node sends for an empty payload) is skipped, as Node does. */
static int next_v3_text(eio_payload_reader *r, eio_packet *out)
{
    while (r->pos < r->len) {
        size_t units, bytes;
        /* A packet of n units takes at least n bytes: bound by what is left. */
        if (read_length(r, 1, r->len - r->pos, &units) != 0)
            return EIO_ERR_PARSE;
        if (r->pos >= r->len || r->buf[r->pos] != ':')
            return EIO_ERR_PARSE;
        r->pos++;
        if (units == 0)
            continue;
        if (eio_utf16_offset(r->buf + r->pos, r->len - r->pos, units, &bytes) != 0)
            return EIO_ERR_PARSE; /* too short, or cuts a surrogate pair */
        int rc = decode_text_packet(3, r->buf + r->pos, bytes, &r->scratch, out);
        if (rc != EIO_OK)
            return rc;
        r->pos += bytes;
        return 1;
    }
    return 0;
}

/* v3 binary framing: kind byte (0 string, 1 binary), length digits as byte
 * values 0..9, 0xFF, then that many bytes: type digit + UTF-8 text, or type
 * byte + raw bytes. Node slices past the end silently and takes any non-zero
 * kind as binary; we refuse both. An empty record has no type: refused. */
static int next_v3_binary(eio_payload_reader *r, eio_packet *out)
{
    if (r->pos == r->len)
        return 0;
    uint8_t kind = r->buf[r->pos++];
    if (kind != V3_BINARY_KIND_STRING && kind != V3_BINARY_KIND_BINARY)
        return EIO_ERR_PARSE;
    size_t n;
    if (read_length(r, 0, r->len - r->pos, &n) != 0)
        return EIO_ERR_PARSE;
    if (r->pos >= r->len || r->buf[r->pos] != V3_BINARY_LENGTH_END)
        return EIO_ERR_PARSE;
    r->pos++;
    if (n == 0 || n > r->len - r->pos)
        return EIO_ERR_PARSE;
    const uint8_t *rec = r->buf + r->pos;
    if (kind == V3_BINARY_KIND_STRING) {
        if (!eio_utf8_valid(rec, n))
            return EIO_ERR_UTF8;
        int rc = decode_text_packet(3, rec, n, &r->scratch, out);
        if (rc != EIO_OK)
            return rc;
    } else {
        eio_packet_type type;
        if (type_from_byte(rec[0], &type) != 0)
            return EIO_ERR_PARSE;
        out->type = type;
        out->binary = 1;
        out->data = rec + 1;
        out->len = n - 1;
    }
    r->pos += n;
    return 1;
}

int eio_payload_next(eio_payload_reader *r, eio_packet *out)
{
    if (r->error != EIO_OK)
        return r->error;
    int rc;
    switch (r->format) {
    case EIO_PAYLOAD_V4: rc = next_v4(r, out); break;
    case EIO_PAYLOAD_V3_TEXT: rc = next_v3_text(r, out); break;
    case EIO_PAYLOAD_V3_BINARY: rc = next_v3_binary(r, out); break;
    default: rc = EIO_ERR_PARSE; break;
    }
    if (rc < 0)
        r->error = rc;
    return rc;
}

/* ---- payload writer ------------------------------------------------------ */

eio_payload_format eio_payload_pick_format(int version, int supports_binary,
                                           const eio_packet *packets, size_t n)
{
    if (version == 4)
        return EIO_PAYLOAD_V4;
    if (supports_binary) {
        for (size_t i = 0; i < n; i++)
            if (packets[i].binary)
                return EIO_PAYLOAD_V3_BINARY;
    }
    return EIO_PAYLOAD_V3_TEXT;
}

/* Appends n as decimal digits with byte values 0..9 (v3 binary framing). */
static void append_binary_length(eio_buf *out, size_t n)
{
    uint8_t tmp[24];
    size_t k = 0;
    do {
        tmp[k++] = (uint8_t)(n % 10);
        n /= 10;
    } while (n);
    while (k)
        eio_buf_append_byte(out, tmp[--k]);
}

/* Empty payloads: "" in v4 (Node joins no packets), "0:" in v3 text (Node's
 * parser-v3 encodePayload), nothing in v3 binary framing (its
 * encodePayloadAsBinary returns an empty buffer). */
void eio_payload_encode(eio_payload_format format, const eio_packet *packets, size_t n,
                        eio_buf *out)
{
    switch (format) {
    case EIO_PAYLOAD_V4:
        for (size_t i = 0; i < n; i++) {
            if (i)
                eio_buf_append_byte(out, RECORD_SEPARATOR);
            eio_packet_encode_text(4, &packets[i], out);
        }
        return;
    case EIO_PAYLOAD_V3_TEXT:
        if (n == 0) {
            eio_buf_append_str(out, "0:");
            return;
        }
        for (size_t i = 0; i < n; i++) {
            const eio_packet *p = &packets[i];
            size_t units = p->binary ? 2 + base64_encoded_length(p->len)
                                     : 1 + eio_utf16_length(p->data, p->len);
            eio_buf_append_uint(out, units);
            eio_buf_append_byte(out, ':');
            eio_packet_encode_text(3, p, out);
        }
        return;
    case EIO_PAYLOAD_V3_BINARY:
        for (size_t i = 0; i < n; i++) {
            const eio_packet *p = &packets[i];
            eio_buf_append_byte(out, p->binary ? V3_BINARY_KIND_BINARY : V3_BINARY_KIND_STRING);
            append_binary_length(out, 1 + p->len);
            eio_buf_append_byte(out, V3_BINARY_LENGTH_END);
            eio_buf_append_byte(out, p->binary ? type_byte(p->type) : type_digit(p->type));
            eio_buf_append(out, p->data, p->len);
        }
        return;
    }
}

const char *eio_payload_content_type(eio_payload_format format)
{
    return format == EIO_PAYLOAD_V3_BINARY ? "application/octet-stream"
                                           : "text/plain; charset=UTF-8";
}

/* ---- JSONP (Node's transports/polling-jsonp) ------------------------------ */

/* Escapes as JSON.stringify does for a string (", \, \b \f \n \r \t, other
 * controls as \u00xx in lowercase hex), then U+2028 and U+2029 as \u2028 and
 * \u2029. Bytes are otherwise copied: invalid UTF-8 goes through unchanged
 * (payloads we build are valid UTF-8). */
void eio_jsonp_wrap(const char *index, const uint8_t *payload, size_t len, eio_buf *out)
{
    static const char hex[] = "0123456789abcdef";
    eio_buf_append_str(out, "___eio[");
    for (const char *c = index ? index : ""; *c; c++)
        if (*c >= '0' && *c <= '9')
            eio_buf_append_byte(out, (uint8_t)*c);
    eio_buf_append_str(out, "](\"");
    size_t run = 0; /* start of the bytes not yet copied */
    for (size_t i = 0; i < len; i++) {
        uint8_t c = payload[i];
        const char *esc = NULL;
        char uesc[7];
        size_t skip = 1;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                uesc[0] = '\\';
                uesc[1] = 'u';
                uesc[2] = '0';
                uesc[3] = '0';
                uesc[4] = hex[c >> 4];
                uesc[5] = hex[c & 15];
                uesc[6] = '\0';
                esc = uesc;
            } else if (c == 0xe2 && len - i >= 3 && payload[i + 1] == 0x80 &&
                       (payload[i + 2] == 0xa8 || payload[i + 2] == 0xa9)) {
                esc = payload[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
                skip = 3;
            }
            break;
        }
        if (!esc)
            continue;
        eio_buf_append(out, payload + run, i - run);
        eio_buf_append_str(out, esc);
        i += skip - 1;
        run = i + 1;
    }
    eio_buf_append(out, payload + run, len - run);
    eio_buf_append_str(out, "\");");
}

int eio_hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Form-decodes s[0..len) into out: '+' is a space, "%XX" a byte; a '%' not
 * followed by two hex digits stays as it is (Node's querystring falls back to
 * the same lenient decoding when decodeURIComponent fails). */
void eio_form_decode(const uint8_t *s, size_t len, eio_buf *out)
{
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '+') {
            eio_buf_append_byte(out, ' ');
        } else if (s[i] == '%' && len - i >= 3 && (hi = eio_hex_value(s[i + 1])) >= 0 &&
                   (lo = eio_hex_value(s[i + 2])) >= 0) {
            eio_buf_append_byte(out, (uint8_t)(hi << 4 | lo));
            i += 2;
        } else {
            eio_buf_append_byte(out, s[i]);
        }
    }
}

/* Node's two regular expression passes, in order:
 *  1. /(\\)?\\n/g: a backslash-n not preceded by a backslash becomes a
 *     newline; a backslash-backslash-n stays;
 *  2. /\\\\n/g: backslash-backslash-n becomes backslash-n. */
static void unescape_newlines(const uint8_t *s, size_t len, eio_buf *out)
{
    eio_buf tmp = EIO_BUF_INIT;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && len - i >= 3 && s[i + 1] == '\\' && s[i + 2] == 'n') {
            eio_buf_append(&tmp, s + i, 3);
            i += 2;
        } else if (s[i] == '\\' && len - i >= 2 && s[i + 1] == 'n') {
            eio_buf_append_byte(&tmp, '\n');
            i += 1;
        } else {
            eio_buf_append_byte(&tmp, s[i]);
        }
    }
    for (size_t i = 0; i < tmp.len; i++) {
        if (tmp.data[i] == '\\' && tmp.len - i >= 3 && tmp.data[i + 1] == '\\' &&
            tmp.data[i + 2] == 'n') {
            eio_buf_append(out, "\\n", 2);
            i += 2;
        } else {
            eio_buf_append_byte(out, tmp.data[i]);
        }
    }
    eio_buf_free(&tmp);
}

/* Pairs are separated by '&', key and value by the first '='; keys are form
 * decoded too. Node's qs.parse turns a repeated "d" into an array, which the
 * JSONP transport then ignores: a repeated d is EIO_ERR_PARSE here, like a
 * missing one. */
int eio_jsonp_unwrap(const uint8_t *body, size_t len, eio_buf *out)
{
    const uint8_t *value = NULL;
    size_t value_len = 0;
    int found = 0;
    eio_buf key = EIO_BUF_INIT;
    size_t pos = 0;
    while (pos < len) {
        const uint8_t *amp = memchr(body + pos, '&', len - pos);
        size_t end = amp ? (size_t)(amp - body) : len;
        const uint8_t *eq = memchr(body + pos, '=', end - pos);
        size_t key_end = eq ? (size_t)(eq - body) : end;
        if (end > pos) {
            eio_buf_reset(&key);
            eio_form_decode(body + pos, key_end - pos, &key);
            if (key.len == 1 && key.data[0] == 'd') {
                found++;
                value = eq ? eq + 1 : body + end;
                value_len = eq ? end - key_end - 1 : 0;
            }
        }
        pos = end + 1;
    }
    eio_buf_free(&key);
    if (found != 1)
        return EIO_ERR_PARSE;
    eio_buf decoded = EIO_BUF_INIT;
    eio_form_decode(value, value_len, &decoded);
    unescape_newlines(decoded.data, decoded.len, out);
    eio_buf_free(&decoded);
    return EIO_OK;
}
