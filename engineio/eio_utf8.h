/*
 * eio_utf8: UTF-8 validation and UTF-16 length counting, as JavaScript sees strings.
 * Pure functions: no I/O, no globals. Threading: any thread.
 * Ownership: nothing is allocated or kept.
 */
#ifndef EIO_UTF8_H
#define EIO_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Incremental validator state; start at EIO_UTF8_ACCEPT (0). */
#define EIO_UTF8_ACCEPT 0u
#define EIO_UTF8_REJECT 1u

/* Feeds bytes to an incremental strict UTF-8 validator (RFC 3629: no overlong
 * forms, no surrogates U+D800..U+DFFF, nothing above U+10FFFF). Returns the new
 * state: EIO_UTF8_ACCEPT when the bytes so far end on a character boundary,
 * EIO_UTF8_REJECT once invalid (sticky), any other value inside a character. */
uint32_t eio_utf8_feed(uint32_t state, const uint8_t *s, size_t len);

/* 1 if s[0..len) is complete, valid UTF-8, else 0. */
int eio_utf8_valid(const uint8_t *s, size_t len);

/* Number of UTF-16 code units of the valid UTF-8 string s[0..len) (characters
 * above U+FFFF count 2), as JavaScript's String.length counts them. */
size_t eio_utf16_length(const uint8_t *s, size_t len);

/* Finds the byte offset in s[0..len) that is `units` UTF-16 code units from the
 * start. Returns 0 and stores the offset in *offset on success; returns -1 if s
 * holds fewer units, if the offset would split a character (a surrogate pair
 * cut in half), or if the bytes met on the way are not valid UTF-8. */
int eio_utf16_offset(const uint8_t *s, size_t len, size_t units, size_t *offset);

#endif
