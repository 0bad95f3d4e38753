/*
 * eio_packet: the Engine.IO packet and payload codec, protocol v3 and v4.
 *
 * Pure: bytes in, structures out; no I/O, no globals, no clocks.
 * Threading: any thread; calls share nothing.
 * Ownership: decoded packets borrow: `data` points into the caller's input
 * buffer, or, for base64-encoded binary, into the reader's scratch buffer, and
 * stays valid until the next call on the same reader (or until the input is
 * freed). Encoders append to a caller-owned eio_buf.
 *
 * Wire facts (../shared/PROTOCOL.md, the engine.io-protocol spec v3 and v4,
 * the Node engine.io server where the spec is silent):
 *  - packet types are the digits '0'..'6';
 *  - v4 polling payload: packets joined by 0x1e; a binary packet is 'b' + base64
 *    of the bytes (no type digit);
 *  - v3 polling text payload: "<len>:<packet>" per packet, len counted in UTF-16
 *    code units; binary as "b4" + base64 (len includes "b4");
 *  - v3 polling binary payload (application/octet-stream, XHR2 clients): per
 *    packet a byte 0 (string) or 1 (binary), the length as decimal digits one
 *    byte each (values 0..9), a 0xFF byte, then the data. For a string packet the
 *    data is the type digit + the UTF-8 bytes and the length counts those bytes;
 *    for a binary packet the data is the type byte (4) + the raw bytes;
 *  - v4 WebSocket: a text frame is "<type><data>"; a binary frame is a message
 *    of raw bytes;
 *  - v3 WebSocket: a text frame is "<type><data>" (or "b4<base64>"); a binary
 *    frame is the type byte 0x04 then the raw bytes.
 */
#ifndef EIO_PACKET_H
#define EIO_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "eio_buf.h"

typedef enum eio_packet_type {
    EIO_PACKET_OPEN = 0,
    EIO_PACKET_CLOSE = 1,
    EIO_PACKET_PING = 2,
    EIO_PACKET_PONG = 3,
    EIO_PACKET_MESSAGE = 4,
    EIO_PACKET_UPGRADE = 5,
    EIO_PACKET_NOOP = 6,
} eio_packet_type;

typedef struct eio_packet {
    eio_packet_type type;
    int binary;          /* 1: data is raw bytes (a binary message); 0: text */
    const uint8_t *data; /* the packet's data after the type; may be NULL if len == 0 */
    size_t len;
} eio_packet;

/* Error codes: 0 is success, errors are negative. */
enum {
    EIO_OK = 0,
    EIO_ERR_PARSE = -1,     /* malformed packet or payload */
    EIO_ERR_TOO_LARGE = -2, /* over a size limit */
    EIO_ERR_UTF8 = -3,      /* text that is not valid UTF-8 */
};
const char *eio_strerror(int err);

/* The most decimal digits accepted in a v3 length prefix (text "<len>:" and
 * binary framing). Node refuses more than 310 in binary framing; we are
 * stricter. Leading zeros count. More digits: EIO_ERR_PARSE. */
#define EIO_PAYLOAD_MAX_LENGTH_DIGITS 20

/* Polling payload formats. */
typedef enum eio_payload_format {
    EIO_PAYLOAD_V4 = 0,        /* records separated by 0x1e */
    EIO_PAYLOAD_V3_TEXT = 1,   /* "<len>:<packet>" */
    EIO_PAYLOAD_V3_BINARY = 2, /* application/octet-stream framing */
} eio_payload_format;

/* Decodes one packet carried by a WebSocket message of the given protocol
 * version (3 or 4). `binary_frame` says whether the frame was binary. Text
 * must be valid UTF-8 (the caller's WebSocket layer checks it). Returns
 * EIO_OK or EIO_ERR_PARSE (unknown type, bad base64, empty message). A
 * base64 binary packet ("b..." in a text frame, accepted as Node does) is
 * decoded into *scratch (reset first); data then points into scratch. */
int eio_packet_decode(int version, int binary_frame, const uint8_t *msg, size_t len,
                      eio_buf *scratch, eio_packet *out);

/* Encodes one packet as a WebSocket message for the given version: appends the
 * message bytes to out and returns 1 if it must go in a binary frame, 0 for a
 * text frame. */
int eio_packet_encode_ws(int version, const eio_packet *p, eio_buf *out);

/* Encodes one packet as text, whatever its kind, and appends it to out:
 * "<type><data>" for text; for binary, "b" + base64 (v4) or "b<type>" +
 * base64 (v3). This is the form packets take inside text payloads, and what a
 * v3 WebSocket client that asked for b64=1 must receive in text frames. */
void eio_packet_encode_text(int version, const eio_packet *p, eio_buf *out);

/* Iterates over the packets of a polling payload (the body of a POST).
 * Create with eio_payload_reader_init, call eio_payload_next until it returns 0
 * (end) or a negative error; eio_payload_reader_free releases the scratch. */
typedef struct eio_payload_reader {
    int version; /* 3 or 4 */
    eio_payload_format format;
    const uint8_t *buf;
    size_t len;
    size_t pos;
    int error;       /* sticky: once an error is returned, always returned */
    eio_buf scratch; /* holds base64-decoded bytes of the current packet */
} eio_payload_reader;

void eio_payload_reader_init(eio_payload_reader *r, int version, eio_payload_format format,
                             const uint8_t *buf, size_t len);
/* Returns 1 and fills *out with the next packet, 0 at the end of the payload,
 * or a negative error code (EIO_ERR_PARSE, EIO_ERR_UTF8). An empty payload is
 * an error (EIO_ERR_PARSE), as for Node. */
int eio_payload_next(eio_payload_reader *r, eio_packet *out);
void eio_payload_reader_free(eio_payload_reader *r);

/* Chooses how a GET answer is framed: v4 -> EIO_PAYLOAD_V4; v3 -> binary
 * framing if the client supports binary (no b64=1, not JSONP) and at least
 * one packet is binary, else EIO_PAYLOAD_V3_TEXT. */
eio_payload_format eio_payload_pick_format(int version, int supports_binary,
                                           const eio_packet *packets, size_t n);

/* Appends the polling payload holding packets[0..n) in the given format.
 * n == 0 is allowed and encodes an empty payload. */
void eio_payload_encode(eio_payload_format format, const eio_packet *packets, size_t n,
                        eio_buf *out);

/* Content-Type of a GET answer in that format. */
const char *eio_payload_content_type(eio_payload_format format);

/* JSONP (v3): appends `___eio[<index>]("<payload as a JS string>");` where
 * index keeps only the digits of `index` (as Node does) and the payload is
 * JSON-string escaped, with U+2028 and U+2029 escaped too. */
void eio_jsonp_wrap(const char *index, const uint8_t *payload, size_t len, eio_buf *out);

/* JSONP (v3) POST bodies are form-encoded `d=<payload>`: extracts the d field,
 * URL-decodes it ('+' is a space), and turns the escaped newlines back as Node
 * does ("\\n" -> newline unless preceded by another backslash). Appends the
 * payload to out. Returns EIO_OK or EIO_ERR_PARSE if there is no d field. */
int eio_jsonp_unwrap(const uint8_t *body, size_t len, eio_buf *out);

/* The value of a hexadecimal digit, or -1. */
int eio_hex_value(uint8_t c);

/* Form-decodes s[0..len) (a query string or form value) and appends the
 * bytes to out: '+' is a space, "%XX" a byte; a '%' not followed by two hex
 * digits stays as it is (as Node's querystring does). */
void eio_form_decode(const uint8_t *s, size_t len, eio_buf *out);

/* Base64 (standard alphabet, with padding) helpers. */
void eio_base64_encode(const uint8_t *in, size_t len, eio_buf *out);
/* Decodes; returns EIO_OK or EIO_ERR_PARSE. Appends to out. */
int eio_base64_decode(const uint8_t *in, size_t len, eio_buf *out);

#endif
