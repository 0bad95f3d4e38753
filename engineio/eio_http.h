/*
 * eio_http: a pure HTTP/1.x request-head parser and chunked-body decoder, in
 * the style of picohttpparser: bytes in, slices of the caller's buffer out, no
 * allocation, no I/O, no globals. The engine's front door (eio_conn.c) uses it
 * to read and validate every request head on the loop before anything else
 * sees the request; the framing rules below are what keeps a request from
 * being read two ways (request smuggling).
 *
 * Rules (Node's llhttp answers each refused case with 400, or 431 for size):
 *  - Request line `METHOD SP TARGET SP HTTP/1.x CRLF`; the method is a token,
 *    the target has no control characters, no spaces; versions 1.0 and 1.1
 *    only (anything else: EIO_HTTP_ERR_VERSION). Every line ends in CRLF (a
 *    bare LF is refused, as Node 20's llhttp refuses it).
 *  - Header `name: value`: the name a token (no space before ':'), the value
 *    with leading/trailing spaces and tabs trimmed and no control characters
 *    other than tab. Obsolete line folding (a line starting with SP/HT) is
 *    refused.
 *  - At most max_headers headers (EIO_HTTP_ERR_TOO_MANY_HEADERS, answer 431)
 *    and at most max_head_bytes bytes up to and including the final CRLFCRLF
 *    (EIO_HTTP_ERR_HEAD_TOO_LARGE, answer 431), checked as bytes arrive, so an
 *    incomplete head over the limit is refused before it completes.
 *  - Content-Length: digits only (no sign, no exponent, no spaces inside), at
 *    most 15 digits; more than one Content-Length header (even with equal
 *    values) is refused; Content-Length together with Transfer-Encoding is
 *    refused; Transfer-Encoding other than exactly "chunked" (case-insensitive)
 *    is refused; Transfer-Encoding in HTTP/1.0 is refused.
 *  - Connection: a comma-separated list; "close" and "keep-alive" tokens are
 *    found case-insensitively, "upgrade" too.
 *  - keep_alive: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
 *    "Connection: keep-alive".
 *
 * Threading: any thread; no shared state. Ownership: every pointer in the
 * result points into the caller's buffer, valid while it is.
 */
#ifndef EIO_HTTP_H
#define EIO_HTTP_H

#include <stddef.h>
#include <stdint.h>

enum {
    EIO_HTTP_INCOMPLETE = -2,             /* need more bytes */
    EIO_HTTP_ERR_SYNTAX = -10,            /* malformed request line or header: 400 */
    EIO_HTTP_ERR_VERSION = -11,           /* not HTTP/1.0 or 1.1: 505 (Node: 400) */
    EIO_HTTP_ERR_TOO_MANY_HEADERS = -12,  /* 431 */
    EIO_HTTP_ERR_HEAD_TOO_LARGE = -13,    /* 431 */
    EIO_HTTP_ERR_CONTENT_LENGTH = -14,    /* bad or duplicate Content-Length: 400 */
    EIO_HTTP_ERR_TRANSFER_ENCODING = -15, /* TE not "chunked", TE with CL, TE in 1.0: 400 */
};

/* A slice of the input buffer (not NUL-terminated). */
typedef struct eio_http_slice {
    const char *p;
    size_t len;
} eio_http_slice;

typedef struct eio_http_field {
    eio_http_slice name, value;
} eio_http_field;

typedef struct eio_http_head {
    eio_http_slice method;
    eio_http_slice target;  /* as sent: path and query */
    eio_http_slice path;    /* target up to '?' */
    eio_http_slice query;   /* after '?', without it; len 0 if none */
    int minor_version;      /* 0 or 1 */
    eio_http_field *fields; /* the caller's array */
    size_t n_fields;
    /* Derived framing, from the rules above. */
    long long content_length; /* -1 if no Content-Length header */
    int chunked;              /* Transfer-Encoding: chunked */
    int keep_alive;           /* the connection may carry another request */
    int connection_upgrade;   /* "upgrade" among the Connection tokens */
    int expect_continue;      /* Expect: 100-continue */
    size_t head_len;          /* bytes of the head, including the final CRLFCRLF */
} eio_http_head;

typedef struct eio_http_limits {
    size_t max_headers;    /* Node: 100 (maxHeadersCount 2000, but 431 past ~100 is llhttp's) */
    size_t max_head_bytes; /* Node's maxHeaderSize: 16384 */
} eio_http_limits;

/* Parses a request head at the start of buf[0..len). fields must have room
 * for limits->max_headers entries. Returns the head's length (> 0) when the
 * whole head is there and valid (also stored in out->head_len),
 * EIO_HTTP_INCOMPLETE when more bytes are needed (and none of the limits is
 * already passed), or one of the EIO_HTTP_ERR_* codes. Bytes past the head
 * (a body, a pipelined request) are not looked at. */
long eio_http_parse_request(const char *buf, size_t len, const eio_http_limits *limits,
                            eio_http_field *fields, eio_http_head *out);

/* The HTTP status to answer a parse error with (400, 431 or 505). */
int eio_http_error_status(long err);
/* A short English description of a parse error, for logs ("duplicate
 * Content-Length", ...). */
const char *eio_http_strerror(long err);

/* Case-insensitive lookup of a header in a parsed head; NULL if absent. */
const eio_http_field *eio_http_find(const eio_http_head *h, const char *name);

/* Parses the head of a response (status line and headers) as a proxy needs
 * it: same syntax rules and limits. Sets *status, *content_length (-1 if
 * absent), *chunked, *connection_close. Returns the head length, INCOMPLETE,
 * or an error code. */
long eio_http_parse_response(const char *buf, size_t len, const eio_http_limits *limits,
                             eio_http_field *fields, size_t *n_fields, int *status,
                             long long *content_length, int *chunked, int *connection_close);

/* ---- content negotiation ---- */

/* Which of the provided content codings to answer with, as Node's
 * `accepts(req).encodings(provided)` picks it (negotiator 0.6): the
 * Accept-Encoding value is split at commas, each entry `coding[;params]`
 * with its first `q=` parameter read as JavaScript's parseFloat reads it
 * (1 without one); an entry matches a coding by name (case-insensitive) or
 * as "*"; for each provided coding the best match counts (a named one over
 * "*", then the higher q, then the later entry); codings with q > 0 are
 * ranked by q, then named over "*", then the earlier entry in the header,
 * then the order of provided. Whitespace is JavaScript's (tab, LF, VT, FF,
 * CR, space, and 0xA0, the header's bytes read as Latin-1, as Node reads
 * them). value[0..len) is the header's value (several Accept-Encoding
 * headers joined with ", ", as Node joins them); NULL for none. Returns the
 * index in provided[0..n) of the coding to use, or -1 when none is
 * acceptable (answer uncompressed: identity is never among provided). */
int eio_http_accept_encoding(const char *value, size_t len, const char *const *provided, size_t n);

/* ---- chunked transfer coding (RFC 9112 section 7.1), incremental ---- */

typedef struct eio_http_chunked {
    int state;          /* internal */
    uint64_t remaining; /* bytes left in the current chunk */
    size_t line_len;    /* bytes of the current size/trailer line (bounded) */
    size_t n_trailers;  /* trailer lines seen (bounded) */
} eio_http_chunked;

void eio_http_chunked_init(eio_http_chunked *c);

/* Decodes in place: reads buf[0..*len), moves the decoded data to the front
 * of buf and sets *len to its length. Returns the number of input bytes
 * consumed (<= the original *len; the caller keeps the rest, if any, for the
 * next request on the connection when the body is complete) and sets *done to
 * 1 once the last chunk and the trailers were read. Returns -1 on a malformed
 * body (bad hex size, a size over 2^53, a missing CRLF after a chunk, a size
 * or trailer line over 4096 bytes, more than 64 trailer lines). Chunk
 * extensions (";name=value") are skipped. */
long eio_http_chunked_decode(eio_http_chunked *c, uint8_t *buf, size_t *len, int *done);

#endif
