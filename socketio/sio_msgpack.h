/*
 * sio_msgpack: MessagePack as npm notepack.io 3.0.1 writes and reads it (the
 * codec of @socket.io/redis-adapter and socket.io-msgpack-parser), on cJSON
 * trees held the way sio_json.h describes (U+0000 as C0 80, lone surrogates as
 * WTF-8, JavaScript property order, cJSON_Invalid standing for undefined).
 *
 * Pure functions: bytes in, trees out; no I/O, no globals, no static mutable
 * state. Threading: any thread, pure; calls share nothing.
 * Ownership: sio_msgpack_decode returns a new tree owned by the caller
 * (allocated with cJSON's allocator: free it with cJSON_Delete or
 * sio_json_delete); nothing in it borrows from the input. sio_msgpack_encode
 * only reads v and appends to the caller's eio_buf. Out of memory aborts
 * (eio_oom), as everywhere in this project.
 *
 * Encoding, byte for byte what notepack.io 3.0.1 writes for the JS value the
 * tree stands for (vectors checked against it in test/unit/test_sio_msgpack.c):
 *  - null and undefined (cJSON_Invalid): nil c0; false/true: c2/c3.
 *  - numbers: an integral, finite value takes the smallest of positive fixint,
 *    uint8/16/32/64 (cc cd ce cf) for v >= 0 (-0 included: it is written 00),
 *    or negative fixint, int8/16/32/64 (d0 d1 d2 d3) for v < 0, with the
 *    unsigned forms chosen for every v >= 0; anything else, NaN and
 *    +-Infinity included, is a float64 cb (NaN as 7ff8000000000000); float32
 *    is never written. One deliberate difference: notepack writes integral
 *    values outside [-2^63, 2^64) modulo 2^64 (1e20 becomes
 *    cf 6bc75e2d63100000, 2^64 becomes 0), which reads back as another
 *    number; those are written as float64 here, so they read back right.
 *  - strings: fixstr below 32 bytes, then str8 d9, str16 da, str32 db, of the
 *    string's UTF-8 bytes (C0 80 written as 00). A lone surrogate is written
 *    as U+FFFD (EF BF BD), as Buffer.from(string) does and as notepack does for
 *    strings longer than 32 UTF-16 units (for shorter ones notepack writes a
 *    wrong 4-byte character); other bytes that are not valid JS UTF-8 are
 *    written as U+FFFD, one per byte.
 *  - arrays: fixarray, array16 dc, array32 dd; undefined elements are nil.
 *  - objects: fixmap, map16 de, map32 df; members whose value is undefined
 *    (cJSON_Invalid) are left out, as notepack leaves out undefined; keys in
 *    JavaScript's order (array-index keys first ascending, then the others in
 *    tree order), as Object.keys gives them. Duplicate keys a caller put in
 *    the tree are all written.
 *  - binary: any node for which get_bin returns bytes is a bin8/16/32
 *    (c4 c5 c6), whatever its type.
 *  - cJSON_Raw nodes cannot be written: the encoding fails.
 *
 * Decoding: every MessagePack type, as notepack reads it, and then held as
 * JSON.stringify would show the value:
 *  - nil: null; bool; every integer form (uint64 and int64 beyond 2^53 give
 *    the nearest double, as JS does); float32 and float64 (NaN and Infinity
 *    are kept as numbers, and print as null).
 *  - str: the text as Buffer.toString("utf8") gives it: ill-formed UTF-8 is
 *    replaced by U+FFFD per maximal subpart (WHATWG), never rejected; 00 is
 *    held as C0 80.
 *  - bin, and ext type 0 in ext8/16/32 form (notepack 2.x ArrayBuffer): the
 *    node returned by on_bin.
 *  - arrays; maps with string keys, or integer keys (held as String(n), e.g.
 *    "5", "-5", "18446744073709552000"); any other key type is "bad map key".
 *    A duplicate key keeps its first place and its last value; the members
 *    end up in JavaScript's property order (array-index keys first); a
 *    "__proto__" key is dropped (notepack's `obj[key] = value` sets the
 *    prototype instead of making a member, so JSON.stringify never shows it).
 *  - timestamps (ext type -1): d6 ff (32-bit seconds), d7 ff (30-bit ns and
 *    34-bit seconds), c7 0c ff (32-bit ns and int64 seconds): the string
 *    JSON.stringify(date) gives, with the same double arithmetic as notepack
 *    and Date (milliseconds truncated), e.g. "2026-12-02T04:35:32.123Z",
 *    "+275760-09-13T00:00:00.000Z". A time outside JavaScript's range
 *    (|ms| > 8.64e15, an Invalid Date) is "bad timestamp", as is c7 with
 *    type -1 and a length other than 12.
 *  - notepack 2.x forms: d7 00 + int64 milliseconds (old Date) as above;
 *    d4 00 xx (undefined): null in an array or at the top, left out as a map
 *    value (a later duplicate still settles the key's place and value as in
 *    JS).
 *  - any other ext type or form (notepack would give [type, Buffer]):
 *    "unsupported ext".
 * Hostile input: no allocation is sized by a declared length before the
 * input is known to hold that many bytes (each array element takes at least
 * one byte, each map entry two), nesting is bounded by max_depth, and the
 * work is O(n log n) in the input size (duplicate keys are found by sorting).
 */
#ifndef SIO_MSGPACK_H
#define SIO_MSGPACK_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "engineio/eio_buf.h"

/* Nesting depth (arrays and maps) used when max_depth <= 0, and the largest
 * allowed (bigger values are lowered to it; the codec recurses once per
 * level). A depth of 1 allows one array or map holding only scalars. */
#define SIO_MSGPACK_DEFAULT_MAX_DEPTH 32
#define SIO_MSGPACK_MAX_DEPTH_LIMIT   1000

/* Called for each bin (and ext type 0, old notepack ArrayBuffer) value while decoding: returns a
   new cJSON node standing for the bytes (e.g. a {"_placeholder":true,"num":i} object kept by a
   sio_args via sio_args_binary_value), or NULL to fail the decode. data is valid only during the
   call. The decoder owns the returned node (it ends up in the tree, or is freed on error). Called
   in input order, on the decoding thread. */
typedef cJSON *(*sio_msgpack_bin_fn)(const uint8_t *data, size_t len, void *ud);
/* Called for each node while encoding: if item stands for binary bytes, return them and set *len;
   else NULL. The bytes are only read during the call to sio_msgpack_encode; for zero bytes
   return any non-NULL pointer. */
typedef const uint8_t *(*sio_msgpack_get_bin_fn)(const cJSON *item, size_t *len, void *ud);

/* Decodes exactly one MessagePack value filling all of [data, data+len) (trailing bytes are an
   error). Returns 0 and sets *out (caller frees with cJSON_Delete), or -1 with a short static
   reason in *err: "truncated", "trailing bytes", "too deep", "bad type byte" (c1), "bad map key",
   "unsupported ext", "bad timestamp", "unexpected bin" (on_bin is NULL), "bin rejected" (on_bin
   returned NULL). *out is NULL after an error. max_depth bounds nesting (arrays/maps): deeper
   input is "too deep"; max_depth <= 0 means SIO_MSGPACK_DEFAULT_MAX_DEPTH, values above
   SIO_MSGPACK_MAX_DEPTH_LIMIT are lowered to it. on_bin may be NULL: then bin values are an
   error. A top-level undefined (d4 00 00) decodes as null. Any thread, pure. */
int sio_msgpack_decode(const uint8_t *data, size_t len, int max_depth, sio_msgpack_bin_fn on_bin,
                       void *ud, cJSON **out, const char **err);
/* Encodes v as notepack.io 3 does (see above); appends to out. get_bin may be NULL. Returns 0, or
   -1 if v is nested deeper than max_depth (same defaults and limit as for decoding), holds a
   cJSON_Raw or unknown node, or a string, binary, array or object too long for MessagePack
   (2^32 or more); after -1, out is as it was before the call. Any thread, pure. */
int sio_msgpack_encode(const cJSON *v, int max_depth, sio_msgpack_get_bin_fn get_bin, void *ud,
                       eio_buf *out);

#endif
