/*
 * eio_ws: the server side of the WebSocket wire format (RFC 6455). A stateless
 * frame parser that checks every rule it can from the bytes present (so a bad
 * or oversized frame is refused from its header alone), a message assembler
 * for fragmented messages with a size limit and incremental UTF-8 checking,
 * and the encoders the server needs: frame headers, close frames and the
 * handshake's accept key. What counts as an error, and its close code, follow
 * Node's `ws` server (lib/receiver.js) except where eio_ws.h says otherwise.
 *
 * Threading: any thread; no globals. An eio_ws_assembler belongs to one
 * thread at a time (the one reading its connection).
 * Ownership: the parser never allocates; it unmasks in place and returns
 * slices of the caller's buffer. The assembler owns the bytes of the
 * fragmented message it collects; a message it returns borrows from the frame
 * or from the assembler until the next call on it.
 */
#include "eio_ws.h"

#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

#include "eio_pmd.h"
#include "eio_utf8.h"

#define WS_FIN              0x80u
#define WS_RSV_BITS         0x70u
#define WS_RSV1             0x40u
#define WS_OPCODE_BITS      0x0Fu
#define WS_MASK_BIT         0x80u
#define WS_LEN7_BITS        0x7Fu
#define WS_LEN16            126u
#define WS_LEN64            127u
#define WS_CONTROL_MAX      125u
#define WS_MASK_KEY_LEN     4u
#define WS_CLOSE_REASON_MAX 123u

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/* Where an empty message points, so that data is never NULL. */
static const uint8_t ws_empty[1];

static int opcode_is_known(unsigned opcode)
{
    return opcode <= EIO_WS_OP_BINARY || (opcode >= EIO_WS_OP_CLOSE && opcode <= EIO_WS_OP_PONG);
}

static int opcode_is_control(unsigned opcode)
{
    return (opcode & 0x8u) != 0;
}

/* XORs p[0..n) with the 4-byte key, repeated from key[0]. Eight bytes at a
 * time through memcpy (no alignment assumptions), then the tail. */
static void unmask(uint8_t *p, size_t n, const uint8_t key[4])
{
    uint8_t key8[8];
    memcpy(key8, key, 4);
    memcpy(key8 + 4, key, 4);
    uint64_t k;
    memcpy(&k, key8, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= k;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= key[i & 3];
}

long eio_ws_parse_frame(uint8_t *buf, size_t len, size_t max_payload, eio_ws_frame *out)
{
    return eio_ws_parse_frame_ex(buf, len, max_payload, 0, out);
}

long eio_ws_parse_frame_ex(uint8_t *buf, size_t len, size_t max_payload, int allow_rsv1,
                           eio_ws_frame *out)
{
    /* Byte 0: FIN, RSV1-3, opcode. Checked as soon as it is there. */
    if (len < 1)
        return 0;
    unsigned b0 = buf[0];
    unsigned opcode = b0 & WS_OPCODE_BITS;
    int fin = (b0 & WS_FIN) != 0;
    int rsv1 = (b0 & WS_RSV1) != 0;
    if (b0 & (WS_RSV_BITS & ~WS_RSV1))
        return -EIO_WS_CLOSE_PROTOCOL_ERROR; /* RSV2, RSV3: no extension uses them */
    if (rsv1 && (!allow_rsv1 || (opcode != EIO_WS_OP_TEXT && opcode != EIO_WS_OP_BINARY)))
        return -EIO_WS_CLOSE_PROTOCOL_ERROR; /* only the first frame of a deflated message */
    if (!opcode_is_known(opcode))
        return -EIO_WS_CLOSE_PROTOCOL_ERROR;
    int control = opcode_is_control(opcode);
    if (control && !fin)
        return -EIO_WS_CLOSE_PROTOCOL_ERROR;

    /* Byte 1: MASK and the 7-bit length. */
    if (len < 2)
        return 0;
    unsigned b1 = buf[1];
    if (!(b1 & WS_MASK_BIT))
        return -EIO_WS_CLOSE_PROTOCOL_ERROR; /* clients must mask */
    unsigned len7 = b1 & WS_LEN7_BITS;
    if (control && (len7 > WS_CONTROL_MAX || (opcode == EIO_WS_OP_CLOSE && len7 == 1)))
        return -EIO_WS_CLOSE_PROTOCOL_ERROR;

    /* Extended length. */
    size_t header = 2;
    uint64_t payload_len;
    if (len7 == WS_LEN16) {
        if (len < 4)
            return 0;
        payload_len = ((uint64_t)buf[2] << 8) | buf[3];
        header = 4;
    } else if (len7 == WS_LEN64) {
        if (len < 10)
            return 0;
        payload_len = 0;
        for (int i = 0; i < 8; i++)
            payload_len = (payload_len << 8) | buf[2 + i];
        if (payload_len >> 63)
            return -EIO_WS_CLOSE_PROTOCOL_ERROR; /* RFC 6455 5.2: the MSB must be 0 */
        header = 10;
    } else {
        payload_len = len7;
    }
    header += WS_MASK_KEY_LEN;

    /* The limit, from the header alone. Control frames are <= 125 already. */
    if (!control && payload_len > max_payload)
        return -EIO_WS_CLOSE_TOO_BIG;
    /* A frame whose size the return type cannot hold is too big as well
     * (only reachable when max_payload is near SIZE_MAX). */
    if (payload_len > (uint64_t)LONG_MAX - header || payload_len > SIZE_MAX - header)
        return -EIO_WS_CLOSE_TOO_BIG;

    size_t total = header + (size_t)payload_len;
    if (len < total)
        return 0;

    uint8_t *payload = buf + header;
    unmask(payload, (size_t)payload_len, buf + header - WS_MASK_KEY_LEN);
    out->fin = fin;
    out->rsv1 = rsv1;
    out->opcode = (int)opcode;
    out->payload = payload;
    out->len = (size_t)payload_len;
    return (long)total;
}

/* Back to "no message in progress" (the buffer is the caller's business). */
static void assembler_clear(eio_ws_assembler *a)
{
    a->in_message = 0;
    a->opcode = 0;
    a->compressed = 0;
    a->fragments = 0;
    a->wire_len = 0;
    a->utf8_state = EIO_UTF8_ACCEPT;
}

void eio_ws_assembler_init(eio_ws_assembler *a, size_t max_message)
{
    a->max_message = max_message;
    a->max_fragments = EIO_WS_MAX_FRAGMENTS;
    a->buf = (eio_buf)EIO_BUF_INIT;
    a->inflater = NULL;
    assembler_clear(a);
}

void eio_ws_assembler_free(eio_ws_assembler *a)
{
    eio_buf_free(&a->buf);
    eio_pmd_inflater_free(a->inflater);
    a->inflater = NULL;
    assembler_clear(a);
}

size_t eio_ws_assembler_room(const eio_ws_assembler *a)
{
    if (!a->in_message)
        return a->max_message;
    return a->max_message > a->wire_len ? a->max_message - a->wire_len : 0;
}

/* Forgets the message being collected and gives its memory back: messages
 * are rarely fragmented, and an idle connection should hold nothing. */
static void assembler_drop(eio_ws_assembler *a)
{
    eio_buf_free(&a->buf);
    assembler_clear(a);
}

static int assembler_fail(eio_ws_assembler *a, int close_code)
{
    assembler_drop(a);
    return -close_code;
}

/* Inflates one frame of a compressed message into a->buf and checks the new
 * text. Returns 0 or a negative close code. */
static int feed_compressed(eio_ws_assembler *a, const eio_ws_frame *f)
{
    size_t before = a->buf.len;
    int r = eio_pmd_inflate(a->inflater, f->payload, f->len, f->fin, a->max_message, &a->buf);
    if (r < 0)
        return r;
    if (a->opcode == EIO_WS_OP_TEXT) {
        if (a->buf.len > before)
            a->utf8_state = eio_utf8_feed(a->utf8_state, a->buf.data + before, a->buf.len - before);
        if (a->utf8_state == EIO_UTF8_REJECT || (f->fin && a->utf8_state != EIO_UTF8_ACCEPT))
            return -EIO_WS_CLOSE_INVALID_DATA;
    }
    return 0;
}

/* The message in a->buf is complete: hands it out (kept until the next call). */
static int assembler_finish(eio_ws_assembler *a, eio_ws_message *out)
{
    out->opcode = a->opcode;
    out->data = a->buf.len ? a->buf.data : ws_empty;
    out->len = a->buf.len;
    assembler_clear(a);
    return 1;
}

int eio_ws_assembler_feed(eio_ws_assembler *a, const eio_ws_frame *f, eio_ws_message *out)
{
    /* The last message handed out from our buffer is dead now. */
    if (!a->in_message && a->buf.cap)
        assembler_drop(a);

    const uint8_t *data = f->len ? f->payload : ws_empty;
    switch (f->opcode) {
    case EIO_WS_OP_TEXT:
    case EIO_WS_OP_BINARY: {
        if (a->in_message)
            return assembler_fail(a, EIO_WS_CLOSE_PROTOCOL_ERROR);
        if (f->len > a->max_message)
            return assembler_fail(a, EIO_WS_CLOSE_TOO_BIG);
        if (f->rsv1) {
            if (!a->inflater)
                return assembler_fail(a, EIO_WS_CLOSE_PROTOCOL_ERROR);
            a->in_message = 1;
            a->opcode = f->opcode;
            a->compressed = 1;
            a->fragments = 1;
            a->wire_len = f->len;
            int r = feed_compressed(a, f);
            if (r < 0)
                return assembler_fail(a, -r);
            return f->fin ? assembler_finish(a, out) : 0;
        }
        uint32_t state = EIO_UTF8_ACCEPT;
        if (f->opcode == EIO_WS_OP_TEXT && f->len) {
            state = eio_utf8_feed(state, data, f->len);
            if (state == EIO_UTF8_REJECT || (f->fin && state != EIO_UTF8_ACCEPT))
                return assembler_fail(a, EIO_WS_CLOSE_INVALID_DATA);
        }
        if (f->fin) {
            /* Unfragmented: hand out the frame's own bytes, no copy. */
            out->opcode = f->opcode;
            out->data = data;
            out->len = f->len;
            return 1;
        }
        a->in_message = 1;
        a->opcode = f->opcode;
        a->fragments = 1;
        a->wire_len = f->len;
        a->utf8_state = state;
        eio_buf_append(&a->buf, data, f->len);
        return 0;
    }
    case EIO_WS_OP_CONTINUATION:
        if (!a->in_message)
            return assembler_fail(a, EIO_WS_CLOSE_PROTOCOL_ERROR);
        /* a->wire_len <= max_message holds, so this cannot wrap. */
        if (f->len > a->max_message - a->wire_len)
            return assembler_fail(a, EIO_WS_CLOSE_TOO_BIG);
        if (++a->fragments > a->max_fragments)
            return assembler_fail(a, EIO_WS_CLOSE_POLICY_VIOLATION);
        a->wire_len += f->len;
        if (a->compressed) {
            int r = feed_compressed(a, f);
            if (r < 0)
                return assembler_fail(a, -r);
            return f->fin ? assembler_finish(a, out) : 0;
        }
        if (a->opcode == EIO_WS_OP_TEXT) {
            if (f->len)
                a->utf8_state = eio_utf8_feed(a->utf8_state, data, f->len);
            if (a->utf8_state == EIO_UTF8_REJECT || (f->fin && a->utf8_state != EIO_UTF8_ACCEPT))
                return assembler_fail(a, EIO_WS_CLOSE_INVALID_DATA);
        }
        eio_buf_append(&a->buf, data, f->len);
        if (!f->fin)
            return 0;
        /* Keep the bytes until the next call; the message is finished. */
        return assembler_finish(a, out);
    default:
        /* A control or unknown opcode: not ours to take. */
        return assembler_fail(a, EIO_WS_CLOSE_PROTOCOL_ERROR);
    }
}

size_t eio_ws_frame_header(uint8_t hdr[10], int opcode, uint64_t payload_len)
{
    hdr[0] = (uint8_t)(WS_FIN | ((unsigned)opcode & WS_OPCODE_BITS));
    if (payload_len < WS_LEN16) {
        hdr[1] = (uint8_t)payload_len;
        return 2;
    }
    if (payload_len <= 0xFFFF) {
        hdr[1] = WS_LEN16;
        hdr[2] = (uint8_t)(payload_len >> 8);
        hdr[3] = (uint8_t)payload_len;
        return 4;
    }
    hdr[1] = WS_LEN64;
    for (int i = 0; i < 8; i++)
        hdr[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
    return 10;
}

/* The longest prefix of s[0..len) that fits in max bytes without cutting a
 * UTF-8 character in two (continuation bytes 10xxxxxx are never a start). */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0u) == 0x80u)
        n--;
    return n;
}

void eio_ws_close_frame(int code, const char *reason, eio_buf *out)
{
    uint8_t hdr[10];
    if (code <= 0 || code > 0xFFFF) {
        size_t n = eio_ws_frame_header(hdr, EIO_WS_OP_CLOSE, 0);
        eio_buf_append(out, hdr, n);
        return;
    }
    size_t reason_len = reason ? utf8_prefix(reason, strlen(reason), WS_CLOSE_REASON_MAX) : 0;
    size_t n = eio_ws_frame_header(hdr, EIO_WS_OP_CLOSE, 2 + reason_len);
    eio_buf_append(out, hdr, n);
    eio_buf_append_byte(out, (uint8_t)((unsigned)code >> 8));
    eio_buf_append_byte(out, (uint8_t)code);
    eio_buf_append(out, reason, reason_len);
}

/* Status codes a peer may put in a close frame, as ws accepts them. */
static int close_code_is_valid(unsigned code)
{
    return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006) ||
           (code >= 3000 && code <= 4999);
}

int eio_ws_parse_close(const uint8_t *payload, size_t len, int *code, const uint8_t **reason,
                       size_t *reason_len)
{
    if (len == 0) {
        *code = 1005; /* no status code present */
        *reason = ws_empty;
        *reason_len = 0;
        return 0;
    }
    if (len == 1)
        return -EIO_WS_CLOSE_PROTOCOL_ERROR;
    unsigned c = ((unsigned)payload[0] << 8) | payload[1];
    if (!close_code_is_valid(c))
        return -EIO_WS_CLOSE_PROTOCOL_ERROR;
    if (!eio_utf8_valid(payload + 2, len - 2))
        return -EIO_WS_CLOSE_INVALID_DATA;
    *code = (int)c;
    *reason = payload + 2;
    *reason_len = len - 2;
    return 0;
}

static int is_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

int eio_ws_accept_key(const char *client_key, char out[29])
{
    enum { KEY_LEN = 24, GUID_LEN = sizeof ws_guid - 1 };
    out[0] = '\0';
    if (!client_key)
        return -1;
    /* 16 bytes in base64 are 22 characters and "==" (as ws checks it). The
     * loop stops at the first bad character, so it never reads past a NUL. */
    for (int i = 0; i < 22; i++)
        if (!is_base64_char(client_key[i]))
            return -1;
    if (client_key[22] != '=' || client_key[23] != '=' || client_key[24] != '\0')
        return -1;

    unsigned char text[KEY_LEN + GUID_LEN];
    memcpy(text, client_key, KEY_LEN);
    memcpy(text + KEY_LEN, ws_guid, GUID_LEN);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (!EVP_Digest(text, sizeof text, digest, &digest_len, EVP_sha1(), NULL) || digest_len != 20)
        return -1;
    /* 20 bytes encode to 28 characters; EVP_EncodeBlock adds the NUL. */
    EVP_EncodeBlock((unsigned char *)out, digest, 20);
    return 0;
}
