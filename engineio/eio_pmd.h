/*
 * eio_pmd: the WebSocket permessage-deflate extension (RFC 7692) as Node's
 * `ws` 8 server speaks it: the negotiation of the client's offers in
 * Sec-WebSocket-Extensions (parsed with ws's grammar, checked as ws's
 * normalizeParams checks them, answered as ws's acceptAsServer answers with
 * its default options), a deflater that compresses one message into the
 * payload of an RSV1 frame, and an inflater for the client's compressed
 * messages with a limit on the inflated size.
 *
 * Pure: bytes in, bytes out, no I/O, no globals (zlib's streams).
 * Threading: any thread; a deflater or an inflater belongs to one thread at a
 * time (the engine's: both are used with the engine lock held).
 * Ownership: output is appended to the caller's buffer; a deflater or an
 * inflater owns its zlib state. Out of memory aborts (house rule).
 *
 * Memory (zlib 1.2/1.3, the parameters below): a deflater for 15 window bits
 * and memLevel 8 (ws's defaults, zlib's own) holds about 262 KiB; an
 * inflater for 15 bits about 7 KiB of state plus a 32 KiB window allocated
 * when it first produces output (so about 40 KiB; 2^bits bytes of window for
 * fewer bits). eio_pmd_inflater_memory says what one holds.
 */
#ifndef EIO_PMD_H
#define EIO_PMD_H

#include <stddef.h>
#include <stdint.h>

#include "eio_buf.h"

/* What was agreed with the client. A window of 0 means the parameter is not
 * in the answer: 15 bits are used. */
typedef struct eio_pmd_params {
    int server_no_context_takeover;
    int client_no_context_takeover;
    int server_max_window_bits; /* 8..15, or 0 */
    int client_max_window_bits; /* 8..15, or 0 (an offer without a value is not answered) */
} eio_pmd_params;

/* Negotiates from the value of the request's Sec-WebSocket-Extensions
 * (several headers joined with ", ", as Node joins them).
 * Returns 1 when permessage-deflate is accepted: *out gets the parameters and
 * answer (answer_cap bytes, NUL-terminated) the value for the 101's
 * Sec-WebSocket-Extensions, as ws formats it ("permessage-deflate" then the
 * accepted offer's parameters in the client's order, without a
 * client_max_window_bits that had no value). Returns 0 when no offer is for
 * permessage-deflate (other extensions are ignored, as ws ignores them).
 * Returns -1 when ws would refuse the handshake with 400 "Invalid or
 * unacceptable Sec-WebSocket-Extensions header": a header its grammar
 * rejects (an empty one included), or a permessage-deflate offer, any of
 * them, with an unknown or repeated parameter, a window size that is not a
 * number from 8 to 15 (read as JavaScript's Number() reads it: "0x0a" and
 * "1e1" are 10), a server_max_window_bits without value or a
 * *_no_context_takeover with one. The first valid offer is accepted (ws with
 * no server options accepts any). answer_cap >= 128 always suffices. */
int eio_pmd_negotiate(const char *header, size_t len, eio_pmd_params *out, char *answer,
                      size_t answer_cap);

/* ---- sending ---- */
typedef struct eio_pmd_deflater eio_pmd_deflater;

/* A raw deflate stream for window_bits (8..15; 8 is used as 9, as Node's
 * zlib does for raw deflate), level 6 and memLevel 8 (Node's defaults, ws
 * passes them on). */
eio_pmd_deflater *eio_pmd_deflater_new(int window_bits);
void eio_pmd_deflater_free(eio_pmd_deflater *d); /* NULL is a no-op */
/* Compresses the message a[0..alen) followed by b[0..blen) on its own (the
 * stream is reset first: no back-reference reaches an earlier message, which
 * RFC 7692 allows whether or not context takeover was agreed) and appends
 * the frame payload to out: the DEFLATE blocks ended by a sync flush, the
 * final 00 00 ff ff removed (RFC 7692 7.2.1). The same input always gives the
 * same bytes, so one compressed frame can go to many receivers. */
void eio_pmd_deflate(eio_pmd_deflater *d, const void *a, size_t alen, const void *b, size_t blen,
                     eio_buf *out);

/* ---- receiving ---- */
typedef struct eio_pmd_inflater eio_pmd_inflater;

/* An inflater for the client's messages: window_bits is the agreed
 * client_max_window_bits (0: 15); 9 bits at least are used, since a peer
 * asked for 8 deflates with 9 (zlib's raw deflate has no 8). no_context:
 * client_no_context_takeover was agreed, so the state is dropped after each
 * message (an idle connection then holds nothing); otherwise the window is
 * kept across messages, as the client's deflater keeps its own. The zlib
 * state is allocated on first use. */
eio_pmd_inflater *eio_pmd_inflater_new(int window_bits, int no_context);
void eio_pmd_inflater_free(eio_pmd_inflater *inf); /* NULL is a no-op */
/* Inflates one frame's payload in[0..len) of a compressed message and
 * appends the output to out, which holds the message's output so far; fin:
 * the message's last frame (the 00 00 ff ff tail is fed after it). Returns 0;
 * -1009 once out->len would pass max_out (the message's limit, checked on
 * the inflated size as ws checks it: no more than max_out + 1 bytes are ever
 * held); -1007 when the data is not valid DEFLATE (ws closes with 1007). After
 * a negative return the stream is dropped; the caller closes the connection. */
int eio_pmd_inflate(eio_pmd_inflater *inf, const uint8_t *in, size_t len, int fin, size_t max_out,
                    eio_buf *out);
/* Bytes of zlib state the inflater holds now (0 while it has none). */
size_t eio_pmd_inflater_memory(const eio_pmd_inflater *inf);
/* Bytes of zlib state a deflater holds. */
size_t eio_pmd_deflater_memory(const eio_pmd_deflater *d);

#endif
