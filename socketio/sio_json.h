/*
 * sio_json: JSON parsed and printed exactly as JavaScript's JSON.parse and
 * JSON.stringify do, on cJSON trees.
 *
 * Pure functions: no I/O, no globals (never cJSON's global error pointer).
 * Threading: any thread; calls share nothing.
 * Ownership: sio_json_parse returns a new tree owned by the caller, allocated
 * with cJSON's allocator (free it with sio_json_delete or cJSON_Delete).
 * Printers append to a caller-owned eio_buf; sio_json_print returns a
 * malloc'd string.
 *
 * How JavaScript values are held in a cJSON tree:
 *  - Numbers are doubles, as in JS (valueint is cJSON's saturated copy).
 *    JSON.parse("1e400") is Infinity; it is kept, and printed as null, as
 *    JSON.stringify does.
 *  - Strings and object keys are NUL-terminated byte strings in "JS UTF-8":
 *    valid UTF-8, except that
 *      - U+0000 is stored as the two bytes C0 80 (as Java's "modified UTF-8"
 *        does), so that a string holding "\u0000" keeps its full length and
 *        stays a C string. sio_json_string_bytes() turns C0 80 back into 00;
 *      - a lone UTF-16 surrogate ("\ud800", accepted by JSON.parse) is stored
 *        as its 3-byte generalized UTF-8 form (WTF-8), e.g. ED A0 80.
 *    A surrogate pair in the input ("\ud83d\ude00") becomes the normal 4-byte
 *    UTF-8 character. The printer turns C0 80 back into \u0000 and a lone
 *    surrogate into \udxxx, so JSON round trips are exact.
 *  - Object members are in JavaScript's property order: keys that are array
 *    indices ("0", "1", ... up to "4294967294", canonical decimal) come first
 *    in ascending numeric order, then the other keys in first-insertion order.
 *    A duplicate key replaces the earlier value in the earlier key's place
 *    (JSON.parse keeps the last value). Keys are compared byte for byte
 *    (cJSON_GetObjectItem ignores case: use cJSON_GetObjectItemCaseSensitive
 *    or sio_json_get).
 *
 * What the parser accepts is exactly what JSON.parse accepts (ECMA-404 /
 * RFC 8259 grammar, whitespace only space, tab, LF, CR; no BOM; no trailing
 * commas; no leading zeros; no raw control characters in strings; any
 * \uXXXX escape, including lone surrogates), with these limits:
 *  - the input must be valid UTF-8 (a JS string cannot hold invalid UTF-8;
 *    the transport layer already checks it);
 *  - nesting deeper than max_depth containers is rejected with
 *    SIO_JSON_ERR_DEPTH (JSON.parse's only limit is the JS stack).
 */
#ifndef SIO_JSON_H
#define SIO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "engineio/eio_buf.h"

/* Default and largest nesting depth. A depth of 1 allows one array or object
 * with only scalars inside. The parser and the printer use no recursion;
 * cJSON_Delete and cJSON_Duplicate do (about 50 bytes of stack per level, a
 * few hundred under AddressSanitizer), which is why depths are capped: use
 * sio_json_delete for trees built elsewhere. Node's JSON.parse takes any
 * depth, but its JSON.stringify throws past about 4,000 levels; 1000 is the
 * default and the cap. */
#define SIO_JSON_DEFAULT_MAX_DEPTH 1000
#define SIO_JSON_MAX_DEPTH_LIMIT   1000

/* Error codes: 0 is success, errors are negative. */
enum {
    SIO_JSON_OK = 0,
    SIO_JSON_ERR_SYNTAX = -1, /* not JSON (JSON.parse throws a SyntaxError) */
    SIO_JSON_ERR_DEPTH = -2,  /* nested deeper than max_depth */
    SIO_JSON_ERR_UTF8 = -3,   /* input is not valid UTF-8 */
};

/* Where and why a parse failed. `message` is a static string. */
typedef struct sio_json_error {
    int code;            /* one of the codes above */
    size_t offset;       /* byte offset in the input where the error was found */
    const char *message; /* e.g. "unexpected character"; never NULL after an error */
} sio_json_error;

const char *sio_json_strerror(int code);

/* Parses json[0..len) as JSON.parse would. Returns a new tree (owned by the
 * caller) or NULL on error, with the details in *err (err may be NULL).
 * max_depth <= 0 means SIO_JSON_DEFAULT_MAX_DEPTH; values above
 * SIO_JSON_MAX_DEPTH_LIMIT are lowered to it. The input need not be
 * NUL-terminated; a NUL byte in it is a syntax error (as "\0" is for JSON.parse). */
cJSON *sio_json_parse(const void *json, size_t len, int max_depth, sio_json_error *err);

/* Frees a tree of any depth without recursion. NULL is a no-op. Like
 * cJSON_Delete it also frees the item's `next` siblings, and honours the
 * cJSON_IsReference and cJSON_StringIsConst flags. */
void sio_json_delete(cJSON *item);

/* Called by the printer before it prints each object. Return 1 after
 * appending the object's text to out yourself, 0 to let the printer print it,
 * or a negative error code to stop printing (the printer returns that code). */
typedef int (*sio_json_object_hook)(void *ctx, const cJSON *object, eio_buf *out);

/* Appends JSON.stringify(item) to out: no spaces; numbers as JavaScript
 * prints them (shortest round-trip form, 1e+21, 1e-7, -0 as 0, NaN and
 * Infinity as null); strings escaped as JSON.stringify does (\" \\ \b \f \n
 * \r \t, other control characters as \u00xx, lone surrogates as \udxxx,
 * everything else raw UTF-8); object members in the tree's order, except that
 * array-index keys are printed first in ascending order, as for a JS object.
 * cJSON_Raw items are copied verbatim; a cJSON_Invalid item is treated as
 * undefined (left out of objects, null in arrays and at the top).
 * Bytes that are not valid JS UTF-8 (see above) print as U+FFFD, one per byte.
 * The tree is printed as it is: duplicate keys a caller put in stay.
 * Returns 0, or the first negative value returned by hook (hook may be NULL);
 * out then holds a partial text. Uses no recursion. */
int sio_json_print_hook(eio_buf *out, const cJSON *item, sio_json_object_hook hook, void *ctx);

/* sio_json_print_hook without a hook. */
void sio_json_print_append(eio_buf *out, const cJSON *item);

/* Returns JSON.stringify(item) as a new NUL-terminated string (free with
 * free()); stores its length in *len when len is not NULL. */
char *sio_json_print(const cJSON *item, size_t *len);

/* Longest text sio_json_format_number writes, with its NUL. */
#define SIO_JSON_NUMBER_MAX 32

/* Writes JavaScript's String(v) for a finite v into out (NUL-terminated) and
 * returns its length; NaN and infinities write "null" (JSON.stringify's
 * form). Also what an event name given as a number becomes in JS. */
size_t sio_json_format_number(double v, char out[SIO_JSON_NUMBER_MAX]);

/* Looks up a member of an object by exact key (case-sensitive); NULL if
 * object is not an object or has no such key. The result is borrowed. */
cJSON *sio_json_get(const cJSON *object, const char *key);

/* Appends the true bytes of a tree string (valuestring or a key) to out: the
 * C0 80 pairs that stand for U+0000 become 00 bytes; lone surrogates stay in
 * their 3-byte form. Returns the number of bytes appended. */
size_t sio_json_string_bytes(const char *s, eio_buf *out);

/* Creates a string item from bytes[0..len), which may hold NUL bytes (stored
 * as C0 80). The bytes should be valid UTF-8. Aborts on out of memory. */
cJSON *sio_json_create_string(const void *bytes, size_t len);

#endif
