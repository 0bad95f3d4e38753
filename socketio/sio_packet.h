/*
 * sio_packet: the Socket.IO packet codec, protocol v5 (socket.io-client 3.x
 * and 4.x) and v4 (socket.io-client 2.x).
 *
 * Pure: strings in, structures out; no I/O, no globals, no clocks.
 * Threading: any thread; calls share nothing.
 * Ownership: a decoded sio_packet owns everything it points to (nsp, query,
 * data, attachments); release it with sio_packet_clear. The encoder writes
 * into a caller-owned sio_encoded and takes references to attachment frames.
 *
 * Wire layout: <type>[<attachments>-][<namespace>,][<ack id>][<JSON>]
 * (socket.io-protocol, and Node's socket.io-parser 4.2.x for v5 and 3.4.x for
 * v4 where the spec is silent). The namespace is left out when it is "/".
 *
 * Binary attachments. A BINARY_EVENT / BINARY_ACK text names N attachments
 * that arrive next as N separate binary messages. In the JSON tree each
 * binary value stays as its placeholder object {"_placeholder":true,"num":i},
 * and the bytes of attachment i are p->attachments[i] (an eio_frame). The
 * same representation is used to emit binary: put placeholders whose num
 * indexes p->attachments and encode; the encoder renumbers them in
 * depth-first order (the order Node's deconstructPacket uses) and lists the
 * frames in that order. Helpers: sio_packet_placeholder_num,
 * sio_packet_placeholder_new, sio_packet_add_attachment.
 *
 * What the decoder accepts (Node's rules, with the differences marked *):
 *  - type: one digit 0..6 (* Node reads "" and " " as type 0).
 *  - attachments (types 5, 6): 1+ ASCII digits then '-', value 1..max
 *    (Node: >= 1 and <= maxAttachments, default 10 in 4.2.x; * 3.4.x
 *    accepted 0 and had no limit; * "0x1-" or " 1-" are rejected here).
 *  - namespace: when the next byte is '/', everything up to the first ',' or
 *    the end. * It must be valid UTF-8 without control characters
 *    (U+0000..U+001F, U+007F); Node takes anything. For v4 CONNECT the part
 *    after the first '?' is the query string (split off into p->query, as
 *    the socket.io 2.x server does with url.parse).
 *  - ack id: a run of ASCII digits (leading zeros allowed), read as Number()
 *    does. * Values above 2^53-1 (Number.MAX_SAFE_INTEGER, where JS loses
 *    precision) are rejected; * Node's quirk of counting whitespace as a
 *    digit ("2 1[...]") is not copied.
 *  - payload: the rest, parsed as JSON.parse does (sio_json, nesting limited
 *    to max_depth), then checked by type as Node's isPayloadValid:
 *      CONNECT     v5: an object, or absent; v4: object, array or null, or absent
 *      DISCONNECT  absent
 *      CONNECT_ERROR / ERROR  v5: an object or a string; v4: a string, object,
 *                  array or null
 *      EVENT, BINARY_EVENT  a non-empty array whose first element is a number
 *                  (* finite: "1e400" is refused, as it would be written
 *                  back as null) or a string that is not a reserved event name (connect,
 *                  connect_error, disconnect, disconnecting, newListener,
 *                  removeListener); * the reserved names are refused in v4
 *                  too (3.4.x did not), * and the payload may not be absent
 *      ACK, BINARY_ACK  an array; * may not be absent (Node allows "3" + id).
 *  - placeholders: an object whose "_placeholder" member is true is a
 *    placeholder. * It must have exactly the members _placeholder and num;
 *    num must be an integer 0 <= num < N and each num used exactly once
 *    (Node only checks 0 <= num < N when the buffers are in, and takes
 *    "num":"splice" as an attack since 4.2.3). * A placeholder in a packet
 *    with no attachments is rejected (Node would hand the object over as
 *    plain data); this keeps placeholders unambiguous in trees.
 * Node turns a decoded BINARY_EVENT into EVENT; here the type stays as sent,
 * and p->attachment_count tells how many frames are expected.
 */
#ifndef SIO_PACKET_H
#define SIO_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "engineio/eio_buf.h"
#include "socketio/sio_json.h"

typedef enum sio_packet_type {
    SIO_PACKET_CONNECT = 0,
    SIO_PACKET_DISCONNECT = 1,
    SIO_PACKET_EVENT = 2,
    SIO_PACKET_ACK = 3,
    SIO_PACKET_CONNECT_ERROR = 4, /* called ERROR in protocol v4 */
    SIO_PACKET_BINARY_EVENT = 5,
    SIO_PACKET_BINARY_ACK = 6,
} sio_packet_type;

#define SIO_PACKET_ERROR SIO_PACKET_CONNECT_ERROR

/* Protocol versions. */
#define SIO_PROTOCOL_V4 4 /* socket.io-client 2.x over Engine.IO v3 */
#define SIO_PROTOCOL_V5 5 /* socket.io-client 3.x, 4.x over Engine.IO v4 */

/* Largest ack id: Number.MAX_SAFE_INTEGER. */
#define SIO_PACKET_MAX_ACK_ID 9007199254740991ULL

/* Error codes: 0 is success, errors are negative. */
enum {
    SIO_PACKET_OK = 0,
    SIO_PACKET_ERR_TYPE = -1,                   /* missing or unknown packet type */
    SIO_PACKET_ERR_ATTACHMENTS = -2,            /* malformed attachment count */
    SIO_PACKET_ERR_TOO_MANY_ATTACHMENTS = -3,   /* more than max_attachments */
    SIO_PACKET_ERR_NAMESPACE = -4,              /* bad namespace syntax */
    SIO_PACKET_ERR_ACK_ID = -5,                 /* ack id too large */
    SIO_PACKET_ERR_JSON = -6,                   /* payload is not JSON */
    SIO_PACKET_ERR_DEPTH = -7,                  /* payload nested too deeply */
    SIO_PACKET_ERR_PAYLOAD = -8,                /* payload not allowed for this type */
    SIO_PACKET_ERR_RESERVED_EVENT = -9,         /* event name is reserved */
    SIO_PACKET_ERR_PLACEHOLDER = -10,           /* malformed or misplaced binary placeholder */
    SIO_PACKET_ERR_UNEXPECTED_ATTACHMENT = -11, /* binary data when none is expected */
    SIO_PACKET_ERR_VERSION = -12,               /* protocol version is not 4 or 5 */
    SIO_PACKET_ERR_UNEXPECTED_TEXT = -13,       /* text while attachments are awaited */
    SIO_PACKET_ERR_MSGPACK = -14,               /* msgpack parser: not one MessagePack packet */
    SIO_PACKET_ERR_ATTACHMENTS_TIMEOUT = -15,   /* attachments not all in within the time */
    SIO_PACKET_ERR_ATTACHMENTS_TOO_LARGE = -16, /* a binary packet over max_binary_bytes */
};

const char *sio_packet_strerror(int err);

/* Name of a packet type as the protocol version calls it ("CONNECT_ERROR" in
 * v5, "ERROR" in v4); "UNKNOWN" for other values. Static string. */
const char *sio_packet_type_name(int version, int type);

typedef struct sio_packet_options {
    size_t max_attachments; /* 0 means the default, 10 (Node's maxAttachments) */
    int max_depth;          /* JSON nesting limit; <= 0 means SIO_JSON_DEFAULT_MAX_DEPTH */
    /* For a parser's decoder (sio_parser.decode) only: a binary packet whose
     * attachments are not all in within binary_timeout_ms of its text part
     * (<= 0: no limit), or whose text and attachments pass max_binary_bytes
     * (0: no limit), is an error. now_ms: the time of this message (the
     * caller's clock, for the timeout). */
    int binary_timeout_ms;
    size_t max_binary_bytes;
    uint64_t now_ms;
} sio_packet_options;

typedef struct sio_packet {
    sio_packet_type type;
    char *nsp;                   /* namespace, NUL-terminated, starts with '/'; "/" by default */
    char *query;                 /* v4 CONNECT: the raw query string after '?' (not
                                    URL-decoded), else NULL */
    int has_id;                  /* 1 if the packet carries an ack id */
    uint64_t id;                 /* the ack id, <= SIO_PACKET_MAX_ACK_ID */
    cJSON *data;                 /* the payload, NULL when absent */
    size_t attachment_count;     /* BINARY_*: attachments announced; else 0 */
    size_t attachments_received; /* how many of attachments[] are filled */
    eio_frame **attachments;     /* attachment_count slots (NULL when 0) */
} sio_packet;

/* A zeroed packet (type CONNECT, no namespace): a fine starting point. */
#define SIO_PACKET_INIT                                                                            \
    {                                                                                              \
        SIO_PACKET_CONNECT, NULL, NULL, 0, 0, NULL, 0, 0, NULL                                     \
    }

/* Releases everything a packet holds: free()s nsp and query, frees data
 * with sio_json_delete, unrefs the attachment frames and frees the array;
 * then zeroes *p. Only for packets whose pointers are owned as above (the
 * decoder's output, or fields set with eio_strdup / sio_json_parse /
 * sio_packet_add_attachment). NULL is a no-op. */
void sio_packet_clear(sio_packet *p);

/* Decodes the text message s[0..len) (valid UTF-8: the transport checked
 * it) of protocol `version` (SIO_PROTOCOL_V4 or _V5) into *out, which is
 * overwritten (not freed) first. opt may be NULL for the defaults. On
 * error returns a negative code, leaves *out zeroed, and if json_err is not
 * NULL and the payload was not JSON, stores the JSON details there.
 * A BINARY_* packet is returned waiting for its attachments
 * (sio_packet_is_complete says 0): feed them with sio_packet_add_attachment. */
int sio_packet_decode(int version, const void *s, size_t len, const sio_packet_options *opt,
                      sio_packet *out, sio_json_error *json_err);

/* 1 when all announced attachments have arrived (always for non-binary). */
int sio_packet_is_complete(const sio_packet *p);

/* Gives a decoded BINARY_* packet its next attachment: copies data[0..len)
 * into a new frame. Returns 1 when that was the last one (the packet is
 * complete), 0 when more are expected, or SIO_PACKET_ERR_UNEXPECTED_ATTACHMENT
 * if the packet expects none (then the caller should close the peer: Node
 * throws "got binary data when not reconstructing a packet"). */
int sio_packet_add_attachment(sio_packet *p, const void *data, size_t len);

/* Same, taking over the caller's reference to frame (also on error: the
 * frame is then unref'd). */
int sio_packet_add_attachment_frame(sio_packet *p, eio_frame *frame);

/* If item is a well-formed placeholder {"_placeholder":true,"num":i} (an
 * integer i >= 0), returns i; otherwise -1. */
long long sio_packet_placeholder_num(const cJSON *item);

/* Creates the placeholder object {"_placeholder":true,"num":num}; the
 * caller owns it (usually by adding it to a tree). */
cJSON *sio_packet_placeholder_new(size_t num);

/* An encoded packet: the text message, then the binary messages to send
 * after it, in order. */
typedef struct sio_encoded {
    eio_buf text;            /* the text message (not NUL-terminated) */
    eio_frame **attachments; /* one reference each; NULL when count == 0 */
    size_t attachment_count;
    size_t attachment_cap;
    int binary; /* text is one binary message (the msgpack parser), not text */
} sio_encoded;

#define SIO_ENCODED_INIT                                                                           \
    {                                                                                              \
        EIO_BUF_INIT, NULL, 0, 0, 0                                                                \
    }

/* Drops the frames' references and frees the memory; back to SIO_ENCODED_INIT. */
void sio_encoded_free(sio_encoded *e);

/* Encodes p for protocol `version` into *e (whose previous contents are
 * dropped; its memory is reused). The packet is only read: it may be a
 * caller-built struct whose pointers are borrowed.
 *  - p->nsp NULL means "/"; otherwise it must start with '/' and hold no ','
 *    nor control characters. p->query is written only for v4 CONNECT.
 *  - p->data must suit the type (the decoder's rules, see above).
 *  - EVENT and BINARY_EVENT (ACK and BINARY_ACK alike) are written as the
 *    binary type when the data holds placeholders and as the plain type
 *    otherwise, as Node's encoder does with hasBinary. Each placeholder's num
 *    picks p->attachments[num] (num < p->attachment_count, slot not NULL);
 *    a frame may be picked twice. Placeholders are renumbered depth-first
 *    and e->attachments holds a reference to each picked frame, in that
 *    order. Placeholders in other packet types are an error.
 * Returns 0 or a negative code (SIO_PACKET_ERR_NAMESPACE, _PAYLOAD,
 * _RESERVED_EVENT, _PLACEHOLDER, _ACK_ID, _VERSION, _TYPE); e->text is then
 * empty. The data is printed once, straight into e->text. */
int sio_packet_encode(int version, const sio_packet *p, sio_encoded *e);

/* ------------------------------------------------------------------ parsers */

/* What a connection's decoder keeps between Engine.IO messages: a packet
 * waiting for its attachments (the default parser). Zero it to start;
 * sio_packet_decoder_clear frees what it holds. */
typedef struct sio_packet_decoder {
    sio_packet partial;
    int reconstructing;
    uint64_t started_ms; /* when the text part came (opt->now_ms) */
    size_t bytes;        /* text and attachments held so far */
} sio_packet_decoder;
void sio_packet_decoder_clear(sio_packet_decoder *d);
/* While a packet waits for attachments (d->reconstructing) and opt sets
 * binary_timeout_ms: SIO_PACKET_ERR_ATTACHMENTS_TIMEOUT if now_ms is past
 * its deadline (the state is then cleared), else 0. Sets *deadline_ms (if
 * not NULL) to the deadline, or to 0 when there is none. */
int sio_packet_decoder_check(sio_packet_decoder *d, const sio_packet_options *opt, uint64_t now_ms,
                             uint64_t *deadline_ms);

/* A Socket.IO parser, as Node's `parser` option: how packets become
 * Engine.IO messages and back. Pure (no I/O); any thread, one decoder per
 * connection. */
typedef struct sio_parser {
    const char *name; /* "default", "msgpack" */
    /* Encodes p (see sio_packet_encode for its rules) into *e. */
    int (*encode)(int version, const sio_packet *p, sio_encoded *e);
    /* Feeds one Engine.IO message (binary or text). Returns 1 with a whole
     * packet in *out (the caller owns it: sio_packet_clear), 0 if more
     * messages are needed, or a negative SIO_PACKET_ERR_* code (the state is
     * then cleared; the caller should close the peer, as Node does). */
    int (*decode)(int version, const uint8_t *data, size_t len, int binary,
                  const sio_packet_options *opt, sio_packet_decoder *state, sio_packet *out);
} sio_parser;

/* socket.io-parser: text packets, binary attachments in messages of their own. */
extern const sio_parser sio_parser_default;
/* socket.io-msgpack-parser 3.x (notepack): each packet {type, data, nsp, id}
 * is one binary message, binary values inside it. */
extern const sio_parser sio_parser_msgpack;

/* The msgpack parser's codec itself (pure): a packet as one MessagePack map;
 * placeholders in p->data are written as bin from p->attachments. */
int sio_packet_encode_msgpack(const sio_packet *p, eio_buf *out);
/* Decodes one MessagePack packet, checked as socket.io-msgpack-parser's
 * checkPacket does; binary values become placeholders and attachments (the
 * type is then BINARY_EVENT / BINARY_ACK, as the default parser gives it). */
int sio_packet_decode_msgpack(const uint8_t *data, size_t len, const sio_packet_options *opt,
                              sio_packet *out);

#endif
