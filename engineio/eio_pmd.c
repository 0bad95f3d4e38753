/*
 * eio_pmd: permessage-deflate (RFC 7692) as Node's ws 8 server does it: the
 * Sec-WebSocket-Extensions grammar of ws's lib/extension.js, the checks of
 * normalizeParams and the answer of acceptAsServer (lib/permessage-deflate.js,
 * no server options), and zlib raw deflate and inflate for the frames.
 *
 * Threading: any thread; no globals. A deflater or an inflater belongs to one
 * thread at a time.
 * Ownership: each deflater and inflater owns its z_stream; the allocations
 * zlib makes go through counting hooks so the memory held is known.
 */
#include "eio_pmd.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define DEFAULT_WINDOW_BITS 15
#define MEM_LEVEL           8 /* zlib's and Node's default, which ws keeps */
#define INFLATE_CHUNK       16384

/* ---------------------------------------------------------------- negotiation */

/* RFC 7230 tchar, as ws's tokenChars table. */
static int is_token(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return 1;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

enum { P_CLIENT_BITS, P_SERVER_BITS, P_CLIENT_NCT, P_SERVER_NCT, P_COUNT };
static const char *const param_names[P_COUNT] = {
    "client_max_window_bits",
    "server_max_window_bits",
    "client_no_context_takeover",
    "server_no_context_takeover",
};
#define VALUE_TRUE (-1) /* a parameter without a value */

/* One offer being read: its parameters, when it is for permessage-deflate. */
typedef struct offer_acc {
    int is_pmd;
    int bad;
    int n_order;
    int order[P_COUNT]; /* parameters in the client's order */
    int present[P_COUNT];
    int value[P_COUNT]; /* VALUE_TRUE or 8..15 */
} offer_acc;

typedef struct negotiation {
    int bad;          /* some permessage-deflate offer is invalid */
    int have;         /* the first permessage-deflate offer is in `first` */
    offer_acc first;  /* the accepted offer */
    offer_acc cur;    /* the offer being read */
    const char *name; /* the current offer's extension name */
    size_t name_len;
} negotiation;

static int digit_in_base(unsigned char c, int base)
{
    int v = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : 99;
    return v < base ? v : -1;
}

/* JavaScript's Number(s) for a string of token characters, then ws's test
 * Number.isInteger(n) && n >= 8 && n <= 15. Returns the value or -1. */
static int window_bits_value(const char *s, size_t n)
{
    if (n >= 2 && s[0] == '0' && strchr("xXoObB", s[1])) {
        int base = (s[1] == 'x' || s[1] == 'X') ? 16 : (s[1] == 'o' || s[1] == 'O') ? 8 : 2;
        if (n == 2)
            return -1;
        unsigned long v = 0;
        for (size_t i = 2; i < n; i++) {
            int d = digit_in_base((unsigned char)s[i], base);
            if (d < 0)
                return -1;
            if (v < 1000)
                v = v * (unsigned long)base + (unsigned long)d;
        }
        return v >= 8 && v <= 15 ? (int)v : -1;
    }
    /* Decimal: [+-] digits [. digits] [e [+-] digits], some digit before the
     * exponent; the whole string. */
    size_t i = 0, mant = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, mant++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, mant++;
    }
    if (!mant)
        return -1; /* "Infinity" and the like are no integers either */
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_digits = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, exp_digits++;
        if (!exp_digits)
            return -1;
    }
    if (i != n || n > 64)
        return -1;
    char tmp[65];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    double v = strtod(tmp, NULL);
    if (!(v >= 8 && v <= 15) || v != (double)(int)v)
        return -1;
    return (int)v;
}

static void offer_start(negotiation *ng, const char *name, size_t len)
{
    memset(&ng->cur, 0, sizeof(ng->cur));
    ng->name = name;
    ng->name_len = len;
    ng->cur.is_pmd = len == 18 && memcmp(name, "permessage-deflate", 18) == 0;
}

/* A parameter of the current offer: value NULL for none (true). unescape:
 * remove every backslash from the value first. */
static void offer_param(negotiation *ng, const char *key, size_t key_len, const char *value,
                        size_t value_len, int unescape)
{
    offer_acc *o = &ng->cur;
    if (!o->is_pmd || o->bad)
        return;
    int k = -1;
    for (int i = 0; i < P_COUNT; i++)
        if (strlen(param_names[i]) == key_len && memcmp(param_names[i], key, key_len) == 0)
            k = i;
    if (k < 0 || o->present[k]) { /* "Unknown parameter", "must have only a single value" */
        o->bad = 1;
        return;
    }
    int v = VALUE_TRUE;
    if (value) {
        char buf[65];
        size_t n = 0;
        for (size_t i = 0; i < value_len && n < sizeof(buf) - 1; i++)
            if (!unescape || value[i] != '\\')
                buf[n++] = value[i];
        v = value_len >= sizeof(buf) ? -1 : window_bits_value(buf, n);
        if (k == P_CLIENT_NCT || k == P_SERVER_NCT || v < 0) {
            o->bad = 1;
            return;
        }
    } else if (k == P_SERVER_BITS) {
        o->bad = 1; /* Number(true) is 1 */
        return;
    }
    o->present[k] = 1;
    o->value[k] = v;
    o->order[o->n_order++] = k;
}

static void offer_end(negotiation *ng)
{
    if (!ng->cur.is_pmd)
        return;
    if (ng->cur.bad)
        ng->bad = 1;
    else if (!ng->have) {
        ng->first = ng->cur;
        ng->have = 1;
    }
}

/* ws's extension.parse(), feeding the offers to ng. Returns 0, or -1 where
 * ws throws a SyntaxError. */
static int parse_extensions(const char *h, size_t len, negotiation *ng)
{
    int have_ext = 0, have_param = 0;
    int must_unescape = 0, escaping = 0, in_quotes = 0;
    const char *pname = NULL;
    size_t pname_len = 0;
    long start = -1, end = -1;
    int code = -1;
    size_t i = 0;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)h[i];
        code = c;
        int sp = c == ' ' || c == '\t';
        if (!have_ext) {
            if (end == -1 && is_token(c)) {
                if (start == -1)
                    start = (long)i;
            } else if (i != 0 && sp) {
                if (end == -1 && start != -1)
                    end = (long)i;
            } else if (c == ';' || c == ',') {
                if (start == -1)
                    return -1;
                if (end == -1)
                    end = (long)i;
                offer_start(ng, h + start, (size_t)(end - start));
                if (c == ',')
                    offer_end(ng);
                else
                    have_ext = 1;
                start = end = -1;
            } else {
                return -1;
            }
        } else if (!have_param) {
            if (end == -1 && is_token(c)) {
                if (start == -1)
                    start = (long)i;
            } else if (sp) {
                if (end == -1 && start != -1)
                    end = (long)i;
            } else if (c == ';' || c == ',') {
                if (start == -1)
                    return -1;
                if (end == -1)
                    end = (long)i;
                offer_param(ng, h + start, (size_t)(end - start), NULL, 0, 0);
                if (c == ',') {
                    offer_end(ng);
                    have_ext = 0;
                }
                start = end = -1;
            } else if (c == '=' && start != -1 && end == -1) {
                pname = h + start;
                pname_len = i - (size_t)start;
                have_param = 1;
                start = end = -1;
            } else {
                return -1;
            }
        } else {
            if (escaping) {
                if (!is_token(c))
                    return -1;
                if (start == -1)
                    start = (long)i;
                else
                    must_unescape = 1;
                escaping = 0;
            } else if (in_quotes) {
                if (is_token(c)) {
                    if (start == -1)
                        start = (long)i;
                } else if (c == '"' && start != -1) {
                    in_quotes = 0;
                    end = (long)i;
                } else if (c == '\\') {
                    escaping = 1;
                } else {
                    return -1;
                }
            } else if (c == '"' && h[i - 1] == '=') {
                in_quotes = 1;
            } else if (end == -1 && is_token(c)) {
                if (start == -1)
                    start = (long)i;
            } else if (start != -1 && sp) {
                if (end == -1)
                    end = (long)i;
            } else if (c == ';' || c == ',') {
                if (start == -1)
                    return -1;
                if (end == -1)
                    end = (long)i;
                offer_param(ng, pname, pname_len, h + start, (size_t)(end - start), must_unescape);
                must_unescape = 0;
                if (c == ',') {
                    offer_end(ng);
                    have_ext = 0;
                }
                have_param = 0;
                start = end = -1;
            } else {
                return -1;
            }
        }
    }
    if (start == -1 || in_quotes || code == ' ' || code == '\t')
        return -1; /* "Unexpected end of input" */
    if (end == -1)
        end = (long)i;
    const char *tok = h + start;
    size_t tok_len = (size_t)(end - start);
    if (!have_ext) {
        offer_start(ng, tok, tok_len);
    } else if (!have_param) {
        offer_param(ng, tok, tok_len, NULL, 0, 0);
    } else {
        offer_param(ng, pname, pname_len, tok, tok_len, must_unescape);
    }
    offer_end(ng);
    return 0;
}

int eio_pmd_negotiate(const char *header, size_t len, eio_pmd_params *out, char *answer,
                      size_t answer_cap)
{
    negotiation ng;
    memset(&ng, 0, sizeof(ng));
    memset(out, 0, sizeof(*out));
    if (answer_cap)
        answer[0] = '\0';
    if (!header || parse_extensions(header, len, &ng) != 0 || ng.bad)
        return -1;
    if (!ng.have)
        return 0;
    const offer_acc *o = &ng.first;
    size_t n = (size_t)snprintf(answer, answer_cap, "permessage-deflate");
    for (int i = 0; i < o->n_order; i++) {
        int k = o->order[i];
        int v = o->value[k];
        if (k == P_CLIENT_BITS && v == VALUE_TRUE)
            continue; /* ws deletes a client_max_window_bits without value */
        if (n < answer_cap) {
            if (v == VALUE_TRUE)
                n += (size_t)snprintf(answer + n, answer_cap - n, "; %s", param_names[k]);
            else
                n += (size_t)snprintf(answer + n, answer_cap - n, "; %s=%d", param_names[k], v);
        }
    }
    out->client_no_context_takeover = o->present[P_CLIENT_NCT];
    out->server_no_context_takeover = o->present[P_SERVER_NCT];
    out->client_max_window_bits = o->present[P_CLIENT_BITS] && o->value[P_CLIENT_BITS] != VALUE_TRUE
                                      ? o->value[P_CLIENT_BITS]
                                      : 0;
    out->server_max_window_bits = o->present[P_SERVER_BITS] ? o->value[P_SERVER_BITS] : 0;
    return 1;
}

/* ---------------------------------------------------------------- zlib memory */

/* zlib's allocations, counted (each block carries its size in front). */
typedef union zhead {
    size_t size;
    max_align_t align;
} zhead;

static voidpf counted_alloc(voidpf opaque, uInt items, uInt size)
{
    size_t n = (size_t)items * size;
    zhead *h = malloc(sizeof(zhead) + n);
    if (!h)
        eio_oom();
    h->size = n;
    *(size_t *)opaque += n;
    return h + 1;
}

static void counted_free(voidpf opaque, voidpf p)
{
    if (!p)
        return;
    zhead *h = (zhead *)p - 1;
    *(size_t *)opaque -= h->size;
    free(h);
}

static void zfatal(const char *what, int r)
{
    if (r == Z_MEM_ERROR)
        eio_oom();
    fprintf(stderr, "fatal: zlib %s: %d\n", what, r);
    abort();
}

/* ---------------------------------------------------------------- deflate */

struct eio_pmd_deflater {
    z_stream z;
    size_t mem;
};

eio_pmd_deflater *eio_pmd_deflater_new(int window_bits)
{
    if (window_bits < 8 || window_bits > 15)
        window_bits = DEFAULT_WINDOW_BITS;
    if (window_bits == 8)
        window_bits = 9; /* zlib refuses raw 8; Node's zlib turns it into 9 */
    eio_pmd_deflater *d = eio_calloc(1, sizeof(*d));
    d->z.zalloc = counted_alloc;
    d->z.zfree = counted_free;
    d->z.opaque = &d->mem;
    int r = deflateInit2(&d->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits, MEM_LEVEL,
                         Z_DEFAULT_STRATEGY);
    if (r != Z_OK)
        zfatal("deflateInit2", r);
    return d;
}

void eio_pmd_deflater_free(eio_pmd_deflater *d)
{
    if (!d)
        return;
    deflateEnd(&d->z);
    free(d);
}

size_t eio_pmd_deflater_memory(const eio_pmd_deflater *d)
{
    return d ? d->mem : 0;
}

/* Feeds p[0..n) with flush on its last piece, draining into out. */
static void deflate_part(z_stream *z, const uint8_t *p, size_t n, int flush, eio_buf *out)
{
    do {
        uInt take = n > UINT_MAX ? UINT_MAX : (uInt)n;
        int f = take == n ? flush : Z_NO_FLUSH;
        z->next_in = (Bytef *)(uintptr_t)p;
        z->avail_in = take;
        do {
            eio_buf_reserve(out, 256);
            size_t space = out->cap - out->len;
            uInt avail = space > UINT_MAX ? UINT_MAX : (uInt)space;
            z->next_out = out->data + out->len;
            z->avail_out = avail;
            int r = deflate(z, f);
            if (r == Z_STREAM_ERROR)
                zfatal("deflate", r);
            eio_buf_advance(out, avail - z->avail_out);
        } while (z->avail_out == 0);
        p += take;
        n -= take;
    } while (n);
}

void eio_pmd_deflate(eio_pmd_deflater *d, const void *a, size_t alen, const void *b, size_t blen,
                     eio_buf *out)
{
    int r = deflateReset(&d->z);
    if (r != Z_OK)
        zfatal("deflateReset", r);
    size_t start = out->len;
    /* Room for the whole output up front, so it is written in one go. */
    eio_buf_reserve(out, (size_t)deflateBound(&d->z, (uLong)(alen + blen)) + 16);
    static const uint8_t none[1];
    deflate_part(&d->z, alen ? a : none, alen, blen ? Z_NO_FLUSH : Z_SYNC_FLUSH, out);
    if (blen)
        deflate_part(&d->z, b, blen, Z_SYNC_FLUSH, out);
    /* A sync flush ends with an empty stored block: 00 00 ff ff. */
    size_t n = out->len - start;
    if (n >= 4 && memcmp(out->data + out->len - 4, "\x00\x00\xff\xff", 4) == 0)
        out->len -= 4;
}

/* ---------------------------------------------------------------- inflate */

struct eio_pmd_inflater {
    z_stream z;
    size_t mem;
    int bits;
    int no_context;
    int active; /* z holds a stream */
    int ended;  /* the stream ended inside this message (BFINAL): the rest is ignored */
};

eio_pmd_inflater *eio_pmd_inflater_new(int window_bits, int no_context)
{
    eio_pmd_inflater *inf = eio_calloc(1, sizeof(*inf));
    if (window_bits < 8 || window_bits > 15)
        window_bits = DEFAULT_WINDOW_BITS;
    inf->bits = window_bits < 9 ? 9 : window_bits;
    inf->no_context = no_context;
    return inf;
}

static void inflater_drop(eio_pmd_inflater *inf)
{
    if (inf->active)
        inflateEnd(&inf->z);
    inf->active = 0;
    inf->ended = 0;
}

void eio_pmd_inflater_free(eio_pmd_inflater *inf)
{
    if (!inf)
        return;
    inflater_drop(inf);
    free(inf);
}

size_t eio_pmd_inflater_memory(const eio_pmd_inflater *inf)
{
    return inf ? inf->mem : 0;
}

/* Inflates in[0..n) into out. Returns 0, -1009 or -1007. */
static int inflate_part(eio_pmd_inflater *inf, const uint8_t *in, size_t n, size_t max_out,
                        eio_buf *out)
{
    z_stream *z = &inf->z;
    while (n && !inf->ended) {
        uInt take = n > UINT_MAX ? UINT_MAX : (uInt)n;
        z->next_in = (Bytef *)(uintptr_t)in;
        z->avail_in = take;
        for (;;) {
            size_t room = out->len < max_out ? max_out - out->len + 1 : 1;
            if (room > INFLATE_CHUNK)
                room = INFLATE_CHUNK;
            eio_buf_reserve(out, room);
            z->next_out = out->data + out->len;
            z->avail_out = (uInt)room;
            uInt before_in = z->avail_in;
            int r = inflate(z, Z_SYNC_FLUSH);
            size_t got = room - z->avail_out;
            eio_buf_advance(out, got);
            if (out->len > max_out)
                return -1009;
            if (r == Z_STREAM_END) {
                inf->ended = 1; /* ws drops the stream; what follows is ignored */
                break;
            }
            if (r == Z_MEM_ERROR)
                eio_oom();
            if (r != Z_OK && r != Z_BUF_ERROR)
                return -1007;
            if (z->avail_in == 0 && z->avail_out != 0)
                break;
            if (r == Z_BUF_ERROR && got == 0 && before_in == z->avail_in)
                break; /* no progress possible */
        }
        in += take;
        n -= take;
    }
    return 0;
}

int eio_pmd_inflate(eio_pmd_inflater *inf, const uint8_t *in, size_t len, int fin, size_t max_out,
                    eio_buf *out)
{
    static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};
    if (!inf->active) {
        memset(&inf->z, 0, sizeof(inf->z));
        inf->z.zalloc = counted_alloc;
        inf->z.zfree = counted_free;
        inf->z.opaque = &inf->mem;
        int r = inflateInit2(&inf->z, -inf->bits);
        if (r != Z_OK)
            zfatal("inflateInit2", r);
        inf->active = 1;
        inf->ended = 0;
    }
    int r = inflate_part(inf, in, len, max_out, out);
    if (r == 0 && fin)
        r = inflate_part(inf, tail, sizeof tail, max_out, out);
    if (r < 0) {
        inflater_drop(inf);
        return r;
    }
    if (fin && (inf->no_context || inf->ended)) {
        /* No context to keep (agreed, or the client ended its stream). */
        inflater_drop(inf);
    }
    return 0;
}
