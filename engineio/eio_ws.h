/*
 * eio_ws: the server side of the WebSocket wire format (RFC 6455): frame parsing
 * with limits checked before anything is buffered, message reassembly across
 * fragments, UTF-8 checking of text, frame headers for sending, and the
 * handshake's Sec-WebSocket-Accept value.
 *
 * Pure: no I/O, no globals (OpenSSL's SHA-1 for the accept key).
 * Threading: any thread; a parser belongs to one thread at a time.
 * Ownership: eio_ws_parse_frame unmasks the payload in place in the caller's
 * buffer and returns a slice of it. An eio_ws_assembler owns the bytes of a
 * fragmented message it is collecting; the message it hands out borrows
 * either from the frame given (unfragmented case) or from the assembler, valid
 * until the next call on it.
 */
#ifndef EIO_WS_H
#define EIO_WS_H

#include <stddef.h>
#include <stdint.h>

#include "eio_buf.h"

enum {
    EIO_WS_OP_CONTINUATION = 0x0,
    EIO_WS_OP_TEXT = 0x1,
    EIO_WS_OP_BINARY = 0x2,
    EIO_WS_OP_CLOSE = 0x8,
    EIO_WS_OP_PING = 0x9,
    EIO_WS_OP_PONG = 0xA,
};

/* Close status codes used by the server. */
enum {
    EIO_WS_CLOSE_NORMAL = 1000,
    EIO_WS_CLOSE_GOING_AWAY = 1001,
    EIO_WS_CLOSE_PROTOCOL_ERROR = 1002,
    EIO_WS_CLOSE_INVALID_DATA = 1007,
    EIO_WS_CLOSE_POLICY_VIOLATION = 1008,
    EIO_WS_CLOSE_TOO_BIG = 1009,
};

typedef struct eio_ws_frame {
    int fin;
    int rsv1; /* permessage-deflate: the message is compressed (first frame only) */
    int opcode;
    uint8_t *payload; /* unmasked, in the caller's buffer */
    size_t len;
} eio_ws_frame;

/* Parses one client-to-server frame at the start of buf[0..len).
 * Returns the number of bytes the whole frame takes (> 0) and fills *out,
 * unmasking the payload in place; returns 0 if more bytes are needed;
 * returns a negative close code on a protocol violation: -1002 (reserved bits
 * set, unknown opcode, unmasked frame, a control frame that is fragmented or
 * longer than 125 bytes, a close frame with a 1-byte payload, a 64-bit length
 * with the top bit set; a length not in its shortest form is accepted as
 * browsers do) or -1009 (a data frame whose declared payload is over
 * max_payload: detected from the header alone, before the payload arrives).
 * Errors are reported as soon as the bytes that show them are present.
 * max_payload is a plain limit (SIZE_MAX for none); passing the assembler's
 * max_message, minus a->buf.len while a->in_message is set, catches an
 * oversized fragmented message from the header too. Since the payload is unmasked in
 * place, a frame must be consumed after a positive return, never parsed
 * again. Never allocates. */
long eio_ws_parse_frame(uint8_t *buf, size_t len, size_t max_payload, eio_ws_frame *out);
/* The same with permessage-deflate negotiated when allow_rsv1 is 1: RSV1 is
 * then accepted on a TEXT or BINARY frame (out->rsv1 set) and still refused
 * (-1002) on a continuation or a control frame, as ws refuses it; RSV2 and
 * RSV3 are always refused. eio_ws_parse_frame is allow_rsv1 0 (RSV1 without
 * the extension: -1002, ws's "RSV1 must be clear"). */
long eio_ws_parse_frame_ex(uint8_t *buf, size_t len, size_t max_payload, int allow_rsv1,
                           eio_ws_frame *out);

/* Data frames one message may take, as ws 8's maxFragments default (16384):
 * the frame after them closes with 1008 (policy violation, ws's "Too many
 * message fragments"), counted whatever their size, so 131,072 empty
 * fragments no longer make a message. */
#define EIO_WS_MAX_FRAGMENTS 16384

struct eio_pmd_inflater;

/* Reassembles messages from data frames and checks them. */
typedef struct eio_ws_assembler {
    size_t max_message;   /* limit on a whole message, summed over fragments */
    size_t max_fragments; /* data frames a message may take: EIO_WS_MAX_FRAGMENTS */
    int in_message;       /* a fragmented message is being collected */
    int opcode;           /* its opcode (TEXT or BINARY) */
    int compressed;       /* its first frame had RSV1 */
    size_t fragments;     /* its frames so far */
    size_t wire_len;      /* its payload bytes as sent (compressed size) */
    uint32_t utf8_state;
    eio_buf buf;
    /* permessage-deflate: inflates RSV1 messages (owned: freed by
     * eio_ws_assembler_free); NULL when the extension is not negotiated. */
    struct eio_pmd_inflater *inflater;
} eio_ws_assembler;

typedef struct eio_ws_message {
    int opcode; /* EIO_WS_OP_TEXT or EIO_WS_OP_BINARY */
    const uint8_t *data;
    size_t len;
} eio_ws_message;

void eio_ws_assembler_init(eio_ws_assembler *a, size_t max_message);
void eio_ws_assembler_free(eio_ws_assembler *a);
/* The max_payload to give eio_ws_parse_frame(_ex) for the next frame: what
 * is left of max_message after the wire bytes of the message in progress (ws
 * counts the compressed size from the header, then the inflated size). */
size_t eio_ws_assembler_room(const eio_ws_assembler *a);
/* Feeds one data frame (TEXT, BINARY or CONTINUATION; control frames are the
 * caller's to handle). Returns 1 and fills *out when a message is complete,
 * 0 when more fragments are needed, or a negative close code: -1002 (a
 * continuation with no message started, a new data frame inside a fragmented
 * message, any other opcode, RSV1 with no inflater), -1007 (text that is
 * not valid UTF-8, checked across fragments as they come; compressed data
 * that does not inflate), -1008 (more than max_fragments data frames), -1009
 * (the message grows over max_message: its wire bytes, or for a compressed
 * one its inflated bytes too). A compressed message (RSV1 on its first frame)
 * is inflated frame by frame into the assembler's buffer, so it is always a
 * copy.
 * After a negative return the assembler is empty again; the caller closes the
 * connection. An unfragmented message is the frame's own payload (no copy);
 * memory held for a fragmented one is released on the next call. */
int eio_ws_assembler_feed(eio_ws_assembler *a, const eio_ws_frame *f, eio_ws_message *out);

/* Writes the header of an unmasked server frame (FIN set) with the given
 * opcode and payload length into hdr (at least 10 bytes); returns its length. */
size_t eio_ws_frame_header(uint8_t hdr[10], int opcode, uint64_t payload_len);

/* Appends a whole close frame (header and payload) to out: the status code
 * as 2 bytes big-endian, then the reason (NULL for none). A reason longer
 * than 123 bytes is cut to 123 or fewer without splitting a UTF-8 character.
 * code 0 writes a close frame with an empty payload (no status). */
void eio_ws_close_frame(int code, const char *reason, eio_buf *out);

/* Reads the payload of a CLOSE frame from the peer (as eio_ws_parse_frame
 * returned it). Returns 0 and sets *code (1005 when the payload is empty: no
 * status given) and *reason / *reason_len (borrowing from payload, not
 * NUL-terminated); or -1002 (a 1-byte payload, or a status code a peer may
 * not send: only 1000-1003, 1007-1014 and 3000-4999 are allowed, as ws
 * allows them) or -1007 (a reason that is not valid UTF-8). */
int eio_ws_parse_close(const uint8_t *payload, size_t len, int *code, const uint8_t **reason,
                       size_t *reason_len);

/* Computes Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64 of
 * SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"). out gets 28 characters
 * and a NUL. Returns 0, or -1 (out = "") if the key is not 24 characters of
 * base64 encoding 16 bytes (22 of [A-Za-z0-9+/] then "==", as ws checks it;
 * the caller trims surrounding spaces). */
int eio_ws_accept_key(const char *client_key, char out[29]);

#endif
