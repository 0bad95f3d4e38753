/*
 * eio_http: the HTTP/1.x request-head parser, the response-head parser a
 * proxy needs, and the chunked-body decoder, after h2o/picohttpparser. The
 * head parsers are stateless: the caller hands the bytes it has, from the
 * start of the head, and calls again with more when told EIO_HTTP_INCOMPLETE.
 * The scan only ever looks at the first max_head_bytes bytes and counts header
 * lines as it meets them, so an oversized or overlong head is refused as soon
 * as the limit is passed, not when it completes. What is refused follows
 * Node's llhttp (as Node 20 runs it, without its lenient flags) except where
 * noted below.
 *
 * Choices eio_http.h leaves open, and where we differ from Node:
 *  - Empty lines (CRLF) before the request line are skipped (RFC 9112 2.2;
 *    clients may send one after a body); they count in head_len and against
 *    max_head_bytes.
 *  - Request targets: origin-form ("/path?query"), asterisk-form ("*", with
 *    any method; path is "*") and absolute-form for the "http" and "https"
 *    schemes ("http://host/path?query", case-insensitive scheme, non-empty
 *    authority; path is what follows the authority, and "/" when nothing
 *    does). Anything else (authority-form for CONNECT, other schemes) is a
 *    syntax error. The target may hold any byte but controls, SP and DEL;
 *    obs-text (>= 0x80) is accepted as Node accepts it. '#' is not split off.
 *  - Transfer-Encoding must be exactly "chunked" once. Node also accepts a
 *    list ending in chunked ("gzip, chunked"); we refuse it
 *    (EIO_HTTP_ERR_TRANSFER_ENCODING), as no client of ours sends it and each
 *    coding we would pass on unread is a way to read a body two ways.
 *  - A missing Host header is not checked here (the caller may).
 *  - limits may be NULL: Node's defaults, 100 headers (so fields needs room
 *    for 100) and 16384 bytes.
 *  - Responses: the status is three digits, 100 to 999, and the reason may be
 *    absent ("HTTP/1.1 204\r\n"). The framing rules are the request's (TE with
 *    CL is refused, not resolved in favour of TE).
 *
 * Threading: any thread; no globals, no shared state. An eio_http_chunked
 * belongs to whoever reads that body.
 * Ownership: nothing is allocated. Every slice in a result points into the
 * caller's buffer and is valid while that buffer is; the chunked decoder
 * rewrites the caller's buffer in place.
 */
#include "eio_http.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_DEFAULT_MAX_HEADERS    100u
#define HTTP_DEFAULT_MAX_HEAD_BYTES 16384u
#define HTTP_CONTENT_LENGTH_DIGITS  15u
#define CHUNKED_MAX_LINE            4096u
#define CHUNKED_MAX_TRAILERS        64u
#define CHUNKED_MAX_SIZE            (UINT64_C(1) << 53)

/* ---- characters ---- */

/* RFC 9110 5.6.2: tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte allowed in a field value or reason phrase: HTAB, SP, VCHAR,
 * obs-text. */
static int is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* A byte allowed in a request target: no controls, no SP, no DEL. */
static int is_target_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* 1 if p[0..len) equals the lower-case string lower, ignoring ASCII case. */
static int equals_nocase(const char *p, size_t len, const char *lower)
{
    size_t n = strlen(lower);
    if (len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower((unsigned char)p[i]) != (unsigned char)lower[i])
            return 0;
    return 1;
}

/* The value of a hex digit, or -1. */
static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = ascii_lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* ---- head scanning ---- */

/* What the header fields say about framing, gathered as they are read. */
typedef struct http_framing {
    long long content_length; /* -1 if absent */
    int chunked;              /* a (valid) Transfer-Encoding was seen */
    int conn_close, conn_keep_alive, conn_upgrade;
    int expect_continue;
} http_framing;

/* The bytes being scanned: buf[0..end), end already cut to max_head_bytes. */
typedef struct http_scan {
    const char *buf;
    size_t end;
    size_t pos;
} http_scan;

/* Reads the CRLF that ends a line at s->pos. Returns 0, INCOMPLETE or
 * SYNTAX (a CR not followed by LF, or anything else). */
static int scan_crlf(http_scan *s)
{
    if (s->pos >= s->end)
        return EIO_HTTP_INCOMPLETE;
    if (s->buf[s->pos] != '\r')
        return EIO_HTTP_ERR_SYNTAX;
    if (s->pos + 1 >= s->end)
        return EIO_HTTP_INCOMPLETE;
    if (s->buf[s->pos + 1] != '\n')
        return EIO_HTTP_ERR_SYNTAX;
    s->pos += 2;
    return 0;
}

/* Reads "HTTP/d.d" at s->pos, checking each byte as it is there. Sets
 * *minor_version. Returns 0, INCOMPLETE, SYNTAX (not that shape) or VERSION
 * (the shape, but not 1.0 or 1.1). */
static int scan_version(http_scan *s, int *minor_version)
{
    static const char shape[] = "HTTP/0.0";
    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        if (s->pos + i >= s->end)
            return EIO_HTTP_INCOMPLETE;
        unsigned char c = (unsigned char)s->buf[s->pos + i];
        if (shape[i] == '0' ? !(c >= '0' && c <= '9') : c != (unsigned char)shape[i])
            return EIO_HTTP_ERR_SYNTAX;
    }
    char major = s->buf[s->pos + 5], minor = s->buf[s->pos + 7];
    if (major != '1' || (minor != '0' && minor != '1'))
        return EIO_HTTP_ERR_VERSION;
    *minor_version = minor - '0';
    s->pos += sizeof(shape) - 1;
    return 0;
}

/* Content-Length: 1 to 15 digits, nothing else (the value is trimmed). */
static int parse_content_length(const char *p, size_t len, long long *out)
{
    if (len == 0 || len > HTTP_CONTENT_LENGTH_DIGITS)
        return EIO_HTTP_ERR_CONTENT_LENGTH;
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return EIO_HTTP_ERR_CONTENT_LENGTH;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/* Notes the tokens of one Connection header: a comma-separated list, each
 * token trimmed and compared ignoring case. Unknown tokens are ignored. */
static void note_connection(const char *p, size_t len, http_framing *fr)
{
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && p[i] != ',')
            i++;
        size_t stop = i;
        while (start < stop && is_space((unsigned char)p[start]))
            start++;
        while (stop > start && is_space((unsigned char)p[stop - 1]))
            stop--;
        if (equals_nocase(p + start, stop - start, "close"))
            fr->conn_close = 1;
        else if (equals_nocase(p + start, stop - start, "keep-alive"))
            fr->conn_keep_alive = 1;
        else if (equals_nocase(p + start, stop - start, "upgrade"))
            fr->conn_upgrade = 1;
        i++; /* past the comma */
    }
}

/* Applies the framing rules to one complete header field. Returns 0 or an
 * error code. */
static int note_field(const eio_http_field *f, int minor_version, http_framing *fr)
{
    const char *name = f->name.p, *value = f->value.p;
    size_t name_len = f->name.len, value_len = f->value.len;
    if (equals_nocase(name, name_len, "content-length")) {
        if (fr->chunked)
            return EIO_HTTP_ERR_TRANSFER_ENCODING;
        if (fr->content_length >= 0)
            return EIO_HTTP_ERR_CONTENT_LENGTH; /* even with the same value */
        return parse_content_length(value, value_len, &fr->content_length);
    }
    if (equals_nocase(name, name_len, "transfer-encoding")) {
        if (minor_version == 0 || fr->chunked || fr->content_length >= 0 ||
            !equals_nocase(value, value_len, "chunked"))
            return EIO_HTTP_ERR_TRANSFER_ENCODING;
        fr->chunked = 1;
        return 0;
    }
    if (equals_nocase(name, name_len, "connection")) {
        note_connection(value, value_len, fr);
        return 0;
    }
    if (equals_nocase(name, name_len, "expect")) {
        if (equals_nocase(value, value_len, "100-continue"))
            fr->expect_continue = 1;
        return 0;
    }
    return 0;
}

/* Reads header lines from s->pos through the empty line that ends the head,
 * storing them in fields[0..max_headers) and their count in *n_fields as
 * they complete. Returns 0 (s->pos is then the head's length), INCOMPLETE or
 * an error code. A header line is counted at its first byte, so one too many
 * is refused before it is complete. */
static int scan_fields(http_scan *s, int minor_version, size_t max_headers, eio_http_field *fields,
                       size_t *n_fields, http_framing *fr)
{
    const char *buf = s->buf;
    size_t n = 0;
    *n_fields = 0;
    for (;;) {
        if (s->pos >= s->end)
            return EIO_HTTP_INCOMPLETE;
        unsigned char c = (unsigned char)buf[s->pos];
        if (c == '\r')
            return scan_crlf(s); /* the empty line */
        /* SP or HT here is obsolete line folding (or whitespace before the
         * first field); a bare LF or ':' is no name either. */
        if (!is_tchar(c))
            return EIO_HTTP_ERR_SYNTAX;
        if (n >= max_headers)
            return EIO_HTTP_ERR_TOO_MANY_HEADERS;

        size_t name_start = s->pos;
        while (s->pos < s->end && is_tchar((unsigned char)buf[s->pos]))
            s->pos++;
        if (s->pos >= s->end)
            return EIO_HTTP_INCOMPLETE;
        if (buf[s->pos] != ':')
            return EIO_HTTP_ERR_SYNTAX; /* space before ':', or a bad name byte */
        size_t name_len = s->pos - name_start;
        s->pos++;

        while (s->pos < s->end && is_space((unsigned char)buf[s->pos]))
            s->pos++;
        size_t value_start = s->pos, value_end = s->pos;
        for (;;) {
            if (s->pos >= s->end)
                return EIO_HTTP_INCOMPLETE;
            c = (unsigned char)buf[s->pos];
            if (c == '\r')
                break;
            if (!is_value_char(c))
                return EIO_HTTP_ERR_SYNTAX; /* a control byte, a bare LF */
            s->pos++;
            if (!is_space(c))
                value_end = s->pos;
        }
        int rc = scan_crlf(s);
        if (rc)
            return rc;

        eio_http_field *f = &fields[n];
        f->name.p = buf + name_start;
        f->name.len = name_len;
        f->value.p = buf + value_start;
        f->value.len = value_end - value_start;
        *n_fields = ++n;
        rc = note_field(f, minor_version, fr);
        if (rc)
            return rc;
    }
}

/* The scan end and header count for the given limits (NULL: defaults). */
static http_scan scan_begin(const char *buf, size_t len, const eio_http_limits *limits,
                            size_t *max_headers)
{
    size_t max_bytes = limits ? limits->max_head_bytes : HTTP_DEFAULT_MAX_HEAD_BYTES;
    if (max_bytes > LONG_MAX)
        max_bytes = LONG_MAX; /* so that the head's length fits the result */
    *max_headers = limits ? limits->max_headers : HTTP_DEFAULT_MAX_HEADERS;
    http_scan s = {buf, len < max_bytes ? len : max_bytes, 0};
    return s;
}

/* The result of a scan: the head length, or rc; an incomplete head whose
 * bytes already pass the limit is too large. */
static long scan_result(const http_scan *s, size_t len, int rc)
{
    if (rc == EIO_HTTP_INCOMPLETE && len > s->end)
        return EIO_HTTP_ERR_HEAD_TOO_LARGE;
    if (rc)
        return rc;
    return (long)s->pos;
}

static void framing_init(http_framing *fr)
{
    memset(fr, 0, sizeof(*fr));
    fr->content_length = -1;
}

/* ---- requests ---- */

/* Splits the target into path and query after checking its form. Returns 0
 * or SYNTAX. */
static int split_target(eio_http_head *out)
{
    const char *t = out->target.p;
    size_t len = out->target.len, path_start;
    if (t[0] == '/') {
        path_start = 0;
    } else if (len == 1 && t[0] == '*') {
        out->path = out->target;
        out->query.p = t + 1;
        out->query.len = 0;
        return 0;
    } else {
        size_t scheme_len;
        if (len >= 7 && equals_nocase(t, 7, "http://"))
            scheme_len = 7;
        else if (len >= 8 && equals_nocase(t, 8, "https://"))
            scheme_len = 8;
        else
            return EIO_HTTP_ERR_SYNTAX;
        path_start = scheme_len;
        while (path_start < len && t[path_start] != '/' && t[path_start] != '?')
            path_start++;
        if (path_start == scheme_len)
            return EIO_HTTP_ERR_SYNTAX; /* no authority */
        if (path_start == len || t[path_start] == '?') {
            /* No path: "/", borrowed from the "//" after the scheme so that
             * it too points into the caller's buffer. */
            out->path.p = t + scheme_len - 1;
            out->path.len = 1;
            out->query.p = t + path_start + (path_start < len);
            out->query.len = len - path_start - (path_start < len);
            return 0;
        }
    }
    size_t q = path_start;
    while (q < len && t[q] != '?')
        q++;
    out->path.p = t + path_start;
    out->path.len = q - path_start;
    out->query.p = t + q + (q < len);
    out->query.len = len - q - (q < len);
    return 0;
}

/* Reads the request line and fields into out. Returns 0, INCOMPLETE or an
 * error code. */
static int scan_request(http_scan *s, size_t max_headers, eio_http_field *fields,
                        eio_http_head *out)
{
    const char *buf = s->buf;
    /* Empty lines before the request line are skipped. */
    while (s->pos < s->end && buf[s->pos] == '\r') {
        int rc = scan_crlf(s);
        if (rc)
            return rc;
    }

    size_t start = s->pos;
    while (s->pos < s->end && is_tchar((unsigned char)buf[s->pos]))
        s->pos++;
    if (s->pos >= s->end)
        return EIO_HTTP_INCOMPLETE;
    if (s->pos == start || buf[s->pos] != ' ')
        return EIO_HTTP_ERR_SYNTAX;
    out->method.p = buf + start;
    out->method.len = s->pos - start;
    s->pos++;

    start = s->pos;
    while (s->pos < s->end && is_target_char((unsigned char)buf[s->pos]))
        s->pos++;
    if (s->pos >= s->end)
        return EIO_HTTP_INCOMPLETE;
    if (s->pos == start || buf[s->pos] != ' ')
        return EIO_HTTP_ERR_SYNTAX; /* empty, a control byte, or no version */
    out->target.p = buf + start;
    out->target.len = s->pos - start;
    int rc = split_target(out);
    if (rc)
        return rc;
    s->pos++;

    rc = scan_version(s, &out->minor_version);
    if (rc)
        return rc;
    rc = scan_crlf(s);
    if (rc)
        return rc;

    http_framing fr;
    framing_init(&fr);
    rc = scan_fields(s, out->minor_version, max_headers, fields, &out->n_fields, &fr);
    if (rc)
        return rc;
    out->content_length = fr.content_length;
    out->chunked = fr.chunked;
    out->keep_alive =
        out->minor_version == 1 ? !fr.conn_close : fr.conn_keep_alive && !fr.conn_close;
    out->connection_upgrade = fr.conn_upgrade;
    out->expect_continue = fr.expect_continue;
    out->head_len = s->pos;
    return 0;
}

long eio_http_parse_request(const char *buf, size_t len, const eio_http_limits *limits,
                            eio_http_field *fields, eio_http_head *out)
{
    memset(out, 0, sizeof(*out));
    out->content_length = -1;
    out->fields = fields;
    size_t max_headers;
    http_scan s = scan_begin(buf, len, limits, &max_headers);
    int rc = scan_request(&s, max_headers, fields, out);
    return scan_result(&s, len, rc);
}

/* ---- responses ---- */

long eio_http_parse_response(const char *buf, size_t len, const eio_http_limits *limits,
                             eio_http_field *fields, size_t *n_fields, int *status,
                             long long *content_length, int *chunked, int *connection_close)
{
    *n_fields = 0;
    *status = 0;
    *content_length = -1;
    *chunked = 0;
    *connection_close = 0;
    size_t max_headers;
    http_scan s = scan_begin(buf, len, limits, &max_headers);

    int minor_version = 0;
    int rc = scan_version(&s, &minor_version);
    if (rc)
        return scan_result(&s, len, rc);
    /* SP, three digits, then SP and a reason, or the end of the line. */
    int code = 0;
    for (size_t i = 0; i < 4; i++) {
        if (s.pos >= s.end)
            return scan_result(&s, len, EIO_HTTP_INCOMPLETE);
        unsigned char c = (unsigned char)buf[s.pos];
        if (i == 0 ? c != ' ' : !(c >= (i == 1 ? '1' : '0') && c <= '9'))
            return EIO_HTTP_ERR_SYNTAX;
        if (i > 0)
            code = code * 10 + (c - '0');
        s.pos++;
    }
    if (s.pos >= s.end)
        return scan_result(&s, len, EIO_HTTP_INCOMPLETE);
    if (buf[s.pos] == ' ') {
        s.pos++;
        while (s.pos < s.end && buf[s.pos] != '\r') {
            if (!is_value_char((unsigned char)buf[s.pos]))
                return EIO_HTTP_ERR_SYNTAX;
            s.pos++;
        }
    }
    rc = scan_crlf(&s);
    if (rc)
        return scan_result(&s, len, rc);

    http_framing fr;
    framing_init(&fr);
    rc = scan_fields(&s, minor_version, max_headers, fields, n_fields, &fr);
    if (rc)
        return scan_result(&s, len, rc);
    *status = code;
    *content_length = fr.content_length;
    *chunked = fr.chunked;
    *connection_close = fr.conn_close || (minor_version == 0 && !fr.conn_keep_alive);
    return scan_result(&s, len, 0);
}

/* ---- errors and lookup ---- */

int eio_http_error_status(long err)
{
    switch (err) {
    case EIO_HTTP_ERR_TOO_MANY_HEADERS:
    case EIO_HTTP_ERR_HEAD_TOO_LARGE: return 431;
    case EIO_HTTP_ERR_VERSION: return 505;
    default: return 400;
    }
}

const char *eio_http_strerror(long err)
{
    switch (err) {
    case EIO_HTTP_INCOMPLETE: return "incomplete head";
    case EIO_HTTP_ERR_SYNTAX: return "malformed request line or header";
    case EIO_HTTP_ERR_VERSION: return "unsupported HTTP version";
    case EIO_HTTP_ERR_TOO_MANY_HEADERS: return "too many header fields";
    case EIO_HTTP_ERR_HEAD_TOO_LARGE: return "head too large";
    case EIO_HTTP_ERR_CONTENT_LENGTH: return "invalid or duplicate Content-Length";
    case EIO_HTTP_ERR_TRANSFER_ENCODING:
        return "Transfer-Encoding not chunked, with Content-Length, or in HTTP/1.0";
    case -1: return "malformed chunked body";
    default: return err >= 0 ? "no error" : "unknown error";
    }
}

const eio_http_field *eio_http_find(const eio_http_head *h, const char *name)
{
    size_t name_len = strlen(name);
    for (size_t i = 0; i < h->n_fields; i++) {
        const eio_http_field *f = &h->fields[i];
        if (f->name.len != name_len)
            continue;
        size_t k = 0;
        while (k < name_len &&
               ascii_lower((unsigned char)f->name.p[k]) == ascii_lower((unsigned char)name[k]))
            k++;
        if (k == name_len)
            return f;
    }
    return NULL;
}

/* ---- chunked transfer coding ----
 *
 * chunk-size is one or more hex digits (either case, leading zeros allowed,
 * at most 2^53); whitespace after it is allowed only before a ';'; an
 * extension after ';' is skipped up to CR but may hold no control byte other
 * than HTAB (so no bare LF). Every CR must be followed by LF. The data of a
 * chunk is copied without a look, then CRLF is required. After the last
 * chunk ("0"), trailer lines are `name ":" value` (a token name, a value
 * without control bytes), at most 64, then the empty line. A size or trailer
 * line (without its CRLF) may be at most 4096 bytes. */

/* The decoder's states; each input byte moves it at most one step. */
enum {
    CHUNKED_SIZE_FIRST = 0, /* at the first hex digit of a size */
    CHUNKED_SIZE,           /* in the hex digits */
    CHUNKED_SIZE_SPACE,     /* BWS after the size, before ';' */
    CHUNKED_EXTENSION,      /* after ';', skipped up to CR */
    CHUNKED_SIZE_LF,        /* after the size line's CR */
    CHUNKED_DATA,           /* remaining bytes of data to copy */
    CHUNKED_DATA_CR,        /* the CRLF after the data */
    CHUNKED_DATA_LF,
    CHUNKED_TRAILER_START, /* at the start of a trailer line or the final CRLF */
    CHUNKED_TRAILER_NAME,
    CHUNKED_TRAILER_VALUE,
    CHUNKED_TRAILER_LF,
    CHUNKED_END_LF, /* after the final CR */
    CHUNKED_DONE,
    CHUNKED_ERROR,
};

void eio_http_chunked_init(eio_http_chunked *c)
{
    memset(c, 0, sizeof(*c));
    c->state = CHUNKED_SIZE_FIRST;
}

/* Counts one more byte of a size or trailer line; 0 if over the limit. */
static int chunked_line_byte(eio_http_chunked *c)
{
    return ++c->line_len <= CHUNKED_MAX_LINE;
}

/* Steps the decoder over one byte that is not chunk data. Returns 0 or -1. */
static int chunked_step(eio_http_chunked *c, unsigned char b)
{
    int digit;
    switch (c->state) {
    case CHUNKED_SIZE_FIRST:
    case CHUNKED_SIZE:
        digit = hex_value(b);
        if (digit >= 0) {
            c->remaining = c->remaining * 16 + (uint64_t)digit;
            if (c->remaining > CHUNKED_MAX_SIZE)
                return -1;
            c->state = CHUNKED_SIZE;
        } else if (c->state == CHUNKED_SIZE_FIRST) {
            return -1; /* no digits */
        } else if (b == ';') {
            c->state = CHUNKED_EXTENSION;
        } else if (is_space(b)) {
            c->state = CHUNKED_SIZE_SPACE;
        } else if (b == '\r') {
            c->state = CHUNKED_SIZE_LF;
            return 0;
        } else {
            return -1;
        }
        return chunked_line_byte(c) ? 0 : -1;
    case CHUNKED_SIZE_SPACE:
        if (b == ';')
            c->state = CHUNKED_EXTENSION;
        else if (!is_space(b))
            return -1; /* BWS only before an extension */
        return chunked_line_byte(c) ? 0 : -1;
    case CHUNKED_EXTENSION:
        if (b == '\r') {
            c->state = CHUNKED_SIZE_LF;
            return 0;
        }
        if (!is_value_char(b))
            return -1; /* a bare LF or a control byte */
        return chunked_line_byte(c) ? 0 : -1;
    case CHUNKED_SIZE_LF:
        if (b != '\n')
            return -1;
        c->line_len = 0;
        c->state = c->remaining ? CHUNKED_DATA : CHUNKED_TRAILER_START;
        return 0;
    case CHUNKED_DATA_CR:
        if (b != '\r')
            return -1;
        c->state = CHUNKED_DATA_LF;
        return 0;
    case CHUNKED_DATA_LF:
        if (b != '\n')
            return -1;
        c->state = CHUNKED_SIZE_FIRST;
        return 0;
    case CHUNKED_TRAILER_START:
        if (b == '\r') {
            c->state = CHUNKED_END_LF;
            return 0;
        }
        if (!is_tchar(b) || ++c->n_trailers > CHUNKED_MAX_TRAILERS)
            return -1;
        c->state = CHUNKED_TRAILER_NAME;
        return chunked_line_byte(c) ? 0 : -1;
    case CHUNKED_TRAILER_NAME:
        if (b == ':')
            c->state = CHUNKED_TRAILER_VALUE;
        else if (!is_tchar(b))
            return -1;
        return chunked_line_byte(c) ? 0 : -1;
    case CHUNKED_TRAILER_VALUE:
        if (b == '\r') {
            c->state = CHUNKED_TRAILER_LF;
            return 0;
        }
        if (!is_value_char(b))
            return -1;
        return chunked_line_byte(c) ? 0 : -1;
    case CHUNKED_TRAILER_LF:
        if (b != '\n')
            return -1;
        c->line_len = 0;
        c->state = CHUNKED_TRAILER_START;
        return 0;
    case CHUNKED_END_LF:
        if (b != '\n')
            return -1;
        c->state = CHUNKED_DONE;
        return 0;
    default: return -1; /* DATA and DONE are handled by the caller */
    }
}

/* On -1, *len is the data decoded before the bad byte, and the decoder stays
 * in error: later calls return -1 too. */
long eio_http_chunked_decode(eio_http_chunked *c, uint8_t *buf, size_t *len, int *done)
{
    size_t in = 0, out = 0, n = *len;
    *done = 0;
    while (in < n && c->state != CHUNKED_DONE) {
        if (c->state == CHUNKED_ERROR)
            break;
        if (c->state == CHUNKED_DATA) {
            size_t run = n - in;
            if ((uint64_t)run > c->remaining)
                run = (size_t)c->remaining;
            if (out != in)
                memmove(buf + out, buf + in, run);
            in += run;
            out += run;
            c->remaining -= run;
            if (c->remaining == 0)
                c->state = CHUNKED_DATA_CR;
            continue;
        }
        if (chunked_step(c, buf[in]) < 0) {
            c->state = CHUNKED_ERROR;
            break;
        }
        in++;
    }
    *len = out;
    if (c->state == CHUNKED_ERROR)
        return -1;
    *done = c->state == CHUNKED_DONE;
    return (long)in;
}

/* ---------------------------------------------------------------- Accept-Encoding */

/* JavaScript's whitespace (String.prototype.trim, \s) among Latin-1 bytes. */
static int js_space(unsigned char b)
{
    return (b >= 0x09 && b <= 0x0d) || b == 0x20 || b == 0xa0;
}

/* parseFloat(s[0..len)): the longest StrDecimalLiteral after leading
 * whitespace ("Infinity" included, no hex, no "inf"); NaN when there is none. */
static double js_parse_float(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && js_space((unsigned char)s[i]))
        i++;
    size_t start = i;
    int negative = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    if (len - i >= 8 && memcmp(s + i, "Infinity", 8) == 0)
        return negative ? -HUGE_VAL : HUGE_VAL;
    size_t digits = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (digits == 0)
        return NAN;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = i + 1;
        if (e < len && (s[e] == '+' || s[e] == '-'))
            e++;
        if (e < len && s[e] >= '0' && s[e] <= '9') {
            while (e < len && s[e] >= '0' && s[e] <= '9')
                e++;
            i = e;
        }
    }
    /* strtod reads exactly this prefix: a copy, NUL-terminated. */
    char small[64], *copy = small;
    size_t n = i - start;
    if (n >= sizeof(small) && !(copy = malloc(n + 1)))
        return NAN;
    memcpy(copy, s + start, n);
    copy[n] = 0;
    double v = strtod(copy, NULL);
    if (copy != small)
        free(copy);
    return v;
}

/* One entry of the header: its coding, q and position. */
typedef struct accept_spec {
    const char *coding;
    size_t coding_len;
    double q;
    int index;
} accept_spec;

/* negotiator's parseEncoding on the trimmed entry s[0..len) (regex
 * /^\s*([^\s;]+)\s*(?:;(.*))?$/, then the first "q" parameter). */
static int parse_accept_entry(const char *s, size_t len, int index, accept_spec *out)
{
    size_t i = 0;
    while (i < len && !js_space((unsigned char)s[i]) && s[i] != ';')
        i++;
    if (i == 0)
        return 0;
    out->coding = s;
    out->coding_len = i;
    out->q = 1;
    out->index = index;
    while (i < len && js_space((unsigned char)s[i]))
        i++;
    if (i == len)
        return 1;
    if (s[i] != ';' || memchr(s + i, '\r', len - i) || memchr(s + i, '\n', len - i))
        return 0; /* "." of the regular expression takes no line terminator */
    /* params: the rest split at ';', each trimmed, then split at '='. */
    const char *p = s + i + 1, *end = s + len;
    while (p <= end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *pe = semi ? semi : end;
        const char *a = p, *b = pe;
        while (a < b && js_space((unsigned char)*a))
            a++;
        while (b > a && js_space((unsigned char)b[-1]))
            b--;
        const char *eq = memchr(a, '=', (size_t)(b - a));
        if ((size_t)((eq ? eq : b) - a) == 1 && *a == 'q') {
            if (!eq) {
                out->q = NAN; /* parseFloat(undefined) */
            } else {
                const char *v = eq + 1, *ve = memchr(v, '=', (size_t)(b - v));
                out->q = js_parse_float(v, (size_t)((ve ? ve : b) - v));
            }
            break;
        }
        if (!semi)
            break;
        p = semi + 1;
    }
    return 1;
}

static int coding_is(const accept_spec *s, const char *name)
{
    size_t n = strlen(name);
    if (s->coding_len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s->coding[i], b = (unsigned char)name[i];
        if (a >= 'A' && a <= 'Z')
            a = (unsigned char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (unsigned char)(b - 'A' + 'a');
        if (a != b)
            return 0;
    }
    return 1;
}

/* JavaScript's `x || ...`: 0 and NaN are false. */
static int js_truthy(double x)
{
    return x != 0 && !isnan(x);
}

/* The priority of a provided coding (negotiator's getEncodingPriority). */
typedef struct accept_priority {
    double q;
    int s, o;
} accept_priority;

int eio_http_accept_encoding(const char *value, size_t len, const char *const *provided, size_t n)
{
    if (!value)
        value = "", len = 0;
    int best = -1;
    accept_priority best_p = {0, 0, 0};
    for (size_t k = 0; k < n; k++) {
        accept_priority pr = {0, 0, -1};
        const char *p = value, *end = value + len;
        for (int index = 0;; index++) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *a = p, *b = comma ? comma : end;
            while (a < b && js_space((unsigned char)*a))
                a++;
            while (b > a && js_space((unsigned char)b[-1]))
                b--;
            accept_spec sp;
            if (parse_accept_entry(a, (size_t)(b - a), index, &sp)) {
                int s = coding_is(&sp, provided[k]) ? 1 : -1;
                if (s < 0 && sp.coding_len == 1 && sp.coding[0] == '*')
                    s = 0;
                if (s >= 0) {
                    double d = pr.s - s;
                    if (!js_truthy(d)) {
                        d = pr.q - sp.q;
                        if (!js_truthy(d))
                            d = pr.o - sp.index;
                    }
                    if (d < 0)
                        pr = (accept_priority){sp.q, s, sp.index};
                }
            }
            if (!comma)
                break;
            p = comma + 1;
        }
        if (!(pr.q > 0))
            continue;
        /* compareSpecs: higher q, then named, then earlier entry, then earlier in provided. */
        int better = best < 0;
        if (!better) {
            double d = best_p.q - pr.q;
            if (!js_truthy(d))
                d = best_p.s - pr.s;
            if (!js_truthy(d))
                d = pr.o - best_p.o;
            better = d < 0;
        }
        if (better) {
            best = (int)k;
            best_p = pr;
        }
    }
    return best;
}
