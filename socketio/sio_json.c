/*
 * sio_json: a strict JSON parser that accepts exactly what JavaScript's
 * JSON.parse accepts and builds cJSON trees, and a printer that writes what
 * JSON.stringify writes. See sio_json.h for how JS values are held in a tree
 * (U+0000 as C0 80, lone surrogates as WTF-8, JS property order).
 *
 * The parser is iterative: an explicit stack of open containers, bounded by
 * max_depth. A container is attached to its parent when it closes; an
 * object's duplicate keys and array-index keys are settled then (duplicates
 * found by sorting the keys, so that no input makes it quadratic).
 *
 * Threading: any thread; no globals, every call works on its own data.
 * Ownership: trees are allocated with cJSON's allocator (cJSON_Create*,
 * cJSON_malloc) so cJSON_Delete can free them; the parser's stack and scratch
 * arrays are freed before it returns. Out of memory aborts (eio_oom).
 */
#include "engineio/eio_packet.h"
#include "socketio/sio_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Allocation helpers: cJSON's allocator, aborting on failure.              */

static cJSON *new_item(int type)
{
    cJSON *item = cJSON_CreateNull();
    if (!item)
        eio_oom();
    item->type = type;
    return item;
}

static char *json_alloc(size_t n)
{
    char *p = cJSON_malloc(n ? n : 1);
    if (!p)
        eio_oom();
    return p;
}

const char *sio_json_strerror(int code)
{
    switch (code) {
    case SIO_JSON_OK: return "success";
    case SIO_JSON_ERR_SYNTAX: return "JSON syntax error";
    case SIO_JSON_ERR_DEPTH: return "JSON nested too deeply";
    case SIO_JSON_ERR_UTF8: return "JSON text is not valid UTF-8";
    default: return "unknown JSON error";
    }
}

/* ------------------------------------------------------------------------ */
/* Freeing without recursion.                                               */

void sio_json_delete(cJSON *item)
{
    cJSON *list = item; /* items still to free, chained through next */
    while (list) {
        cJSON *cur = list;
        list = cur->next;
        if (!(cur->type & cJSON_IsReference)) {
            if (cur->child) {
                cJSON *tail = cur->child;
                while (tail->next)
                    tail = tail->next;
                tail->next = list;
                list = cur->child;
            }
            if (cur->valuestring)
                cJSON_free(cur->valuestring);
        }
        if (!(cur->type & cJSON_StringIsConst) && cur->string)
            cJSON_free(cur->string);
        cJSON_free(cur);
    }
}

/* ------------------------------------------------------------------------ */
/* Object member order and duplicates, shared by the parser and printer.    */

/* 1 if key is an array index as JavaScript defines it: the canonical decimal
 * form of an integer 0..2^32-2; stores the value in *value. */
static int array_index_key(const char *key, uint32_t *value)
{
    if (!key || key[0] < '0' || key[0] > '9')
        return 0;
    if (key[0] == '0') {
        if (key[1])
            return 0;
        *value = 0;
        return 1;
    }
    uint64_t v = 0;
    for (const char *p = key; *p; p++) {
        if (*p < '0' || *p > '9' || p - key >= 10)
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > 4294967294u)
        return 0;
    *value = (uint32_t)v;
    return 1;
}

typedef struct keyed {
    cJSON *item;
    uint32_t value; /* array-index value */
    size_t pos;     /* position in the original order */
} keyed;

static int compare_index_keys(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

/* Reorders items[0..n) as JavaScript orders an object's keys: array-index
 * keys first, ascending (ties in original order), then the others in their
 * original order. Returns 1 if anything moved. */
static int order_members(cJSON **items, size_t n)
{
    size_t nindex = 0;
    uint32_t v;
    for (size_t i = 0; i < n; i++)
        if (array_index_key(items[i]->string, &v))
            nindex++;
    if (nindex == 0)
        return 0;
    keyed *idx = eio_malloc(nindex * sizeof *idx);
    cJSON **rest = eio_malloc((n - nindex + 1) * sizeof *rest);
    size_t ni = 0, nr = 0;
    for (size_t i = 0; i < n; i++) {
        if (array_index_key(items[i]->string, &v)) {
            idx[ni].item = items[i];
            idx[ni].value = v;
            idx[ni].pos = i;
            ni++;
        } else {
            rest[nr++] = items[i];
        }
    }
    qsort(idx, ni, sizeof *idx, compare_index_keys);
    int moved = 0;
    for (size_t i = 0; i < ni; i++) {
        if (items[i] != idx[i].item)
            moved = 1;
        items[i] = idx[i].item;
    }
    for (size_t i = 0; i < nr; i++) {
        if (items[ni + i] != rest[i])
            moved = 1;
        items[ni + i] = rest[i];
    }
    free(idx);
    free(rest);
    return moved;
}

/* Merge sort of positions by (key, position): stable, O(n log n) always. */
static void sort_by_key(cJSON **items, size_t *perm, size_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t half = n / 2;
    sort_by_key(items, perm, tmp, half); /* depth is log2(n): bounded */
    sort_by_key(items, perm + half, tmp, n - half);
    size_t i = 0, j = half, k = 0;
    while (i < half && j < n) {
        if (strcmp(items[perm[j]]->string, items[perm[i]]->string) < 0)
            tmp[k++] = perm[j++];
        else
            tmp[k++] = perm[i++];
    }
    while (i < half)
        tmp[k++] = perm[i++];
    while (j < n)
        tmp[k++] = perm[j++];
    memcpy(perm, tmp, n * sizeof *perm);
}

/* Settles duplicate keys in items[0..n) as JSON.parse does: the member keeps
 * the place of the key's first occurrence and the value of its last. The
 * dropped items are freed and their slots set to NULL. Returns 1 if any. */
static int drop_duplicates(cJSON **items, size_t n)
{
    int dropped = 0;
    if (n <= 16) {
        for (size_t i = 1; i < n; i++) {
            for (size_t j = 0; j < i; j++) {
                if (items[j] && strcmp(items[j]->string, items[i]->string) == 0) {
                    items[j]->next = NULL;
                    sio_json_delete(items[j]);
                    items[j] = items[i];
                    items[i] = NULL;
                    dropped = 1;
                    break;
                }
            }
        }
        return dropped;
    }
    size_t *perm = eio_malloc(n * sizeof *perm);
    size_t *tmp = eio_malloc(n * sizeof *tmp);
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    sort_by_key(items, perm, tmp, n);
    size_t a = 0;
    while (a < n) {
        size_t b = a;
        while (b + 1 < n && strcmp(items[perm[b + 1]]->string, items[perm[a]]->string) == 0)
            b++;
        if (b > a) {
            /* perm[a] is the first occurrence, perm[b] the last (stable sort). */
            cJSON *last = items[perm[b]];
            for (size_t r = a; r < b; r++) {
                items[perm[r]]->next = NULL;
                sio_json_delete(items[perm[r]]);
                items[perm[r]] = NULL;
            }
            items[perm[b]] = NULL;
            items[perm[a]] = last;
            dropped = 1;
        }
        a = b + 1;
    }
    free(perm);
    free(tmp);
    return dropped;
}

/* Relinks container's children from items[0..n), skipping NULL slots. */
static void relink(cJSON *container, cJSON **items, size_t n)
{
    cJSON *first = NULL, *last = NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *it = items[i];
        if (!it)
            continue;
        if (!first) {
            first = it;
        } else {
            last->next = it;
            it->prev = last;
        }
        last = it;
    }
    if (last)
        last->next = NULL;
    if (first)
        first->prev = last; /* cJSON keeps the tail in child->prev */
    container->child = first;
}

/* ------------------------------------------------------------------------ */
/* Parser.                                                                  */

typedef struct frame {
    cJSON *container;
    cJSON *tail;
    size_t count;
    int is_object;
    int index_keys; /* an object member has an array-index key */
    char *key;      /* object: key read, value not yet attached (cJSON_malloc) */
} frame;

typedef struct parser {
    const uint8_t *s;
    size_t len;
    size_t pos;
    sio_json_error *err;
} parser;

static int fail(parser *p, int code, size_t offset, const char *message)
{
    if (p->err) {
        p->err->code = code;
        p->err->offset = offset;
        p->err->message = message;
    }
    return code;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        uint8_t c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

/* Reads 4 hex digits at s[0..4); -1 if they are not all hex digits. */
static long hex4(const uint8_t *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = eio_hex_value(s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Length of the valid UTF-8 sequence starting at s[0] (at most `avail`
 * bytes available, s[0] >= 0x80), or 0 if it is invalid (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_sequence(const uint8_t *s, size_t avail)
{
    uint8_t b = s[0];
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

/* Appends a UTF-16 code unit or code point as JS UTF-8: U+0000 as C0 80,
 * surrogates in their 3-byte form. Returns the bytes written. */
static size_t put_code_point(uint8_t *out, uint32_t cp)
{
    if (cp == 0) {
        out[0] = 0xC0;
        out[1] = 0x80;
        return 2;
    }
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* SWAR (8 bytes a step): a word with no byte that a JSON string must treat
 * apart: a quote, a backslash, a control character (< 0x20) or a byte of
 * a multi-byte UTF-8 sequence (>= 0x80). Exact for "none"; when it says
 * "some", the caller looks byte by byte. */
#define SWAR_ONES 0x0101010101010101u
#define SWAR_HIGH 0x8080808080808080u
static int swar_plain(uint64_t w)
{
    uint64_t q = w ^ (SWAR_ONES * '"'), b = w ^ (SWAR_ONES * '\\');
    uint64_t special =
        ((q - SWAR_ONES) & ~q) | ((b - SWAR_ONES) & ~b) | ((w - SWAR_ONES * 0x20) & ~w) | w;
    return (special & SWAR_HIGH) == 0;
}

/* How many bytes of s[0..len) from the start need no care. */
static size_t plain_run(const uint8_t *s, size_t len)
{
    size_t i = 0;
    uint64_t w;
    while (len - i >= 8 && (memcpy(&w, s + i, 8), swar_plain(w)))
        i += 8;
    while (i < len && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}

/* Parses the string whose opening quote is at p->pos. On success stores a
 * new NUL-terminated string (cJSON_malloc) in *out and leaves p->pos after
 * the closing quote. The decoded form is never longer than the raw text:
 * an escape of 6 bytes gives at most 3, a pair of 12 gives 4. */
static int parse_string(parser *p, char **out)
{
    const uint8_t *s = p->s;
    size_t start = p->pos + 1;
    size_t plain = start + plain_run(s + start, p->len - start), end = plain;
    if (end < p->len && s[end] == '"') {
        /* Nothing to decode (the common case): one copy. */
        char *str = json_alloc(end - start + 1);
        memcpy(str, s + start, end - start);
        str[end - start] = 0;
        *out = str;
        p->pos = end + 1;
        return 0;
    }
    while (end < p->len && s[end] != '"')
        end += (s[end] == '\\') ? 2 : 1;
    if (end >= p->len)
        return fail(p, SIO_JSON_ERR_SYNTAX, p->len, "unterminated string");

    uint8_t *buf = (uint8_t *)json_alloc(end - start + 1);
    size_t n = plain - start, i = plain;
    memcpy(buf, s + start, n);
    while (i < end) {
        size_t run = plain_run(s + i, end - i);
        if (run) {
            memcpy(buf + n, s + i, run);
            n += run;
            i += run;
            continue;
        }
        uint8_t b = s[i];
        if (b == '\\') {
            uint8_t e = s[i + 1];
            switch (e) {
            case '"':
            case '\\':
            case '/':
                buf[n++] = e;
                i += 2;
                continue;
            case 'b':
                buf[n++] = '\b';
                i += 2;
                continue;
            case 'f':
                buf[n++] = '\f';
                i += 2;
                continue;
            case 'n':
                buf[n++] = '\n';
                i += 2;
                continue;
            case 'r':
                buf[n++] = '\r';
                i += 2;
                continue;
            case 't':
                buf[n++] = '\t';
                i += 2;
                continue;
            case 'u': break;
            default:
                cJSON_free(buf);
                return fail(p, SIO_JSON_ERR_SYNTAX, i + 1, "bad escape in string");
            }
            long cu = end - i >= 6 ? hex4(s + i + 2) : -1;
            if (cu < 0) {
                cJSON_free(buf);
                return fail(p, SIO_JSON_ERR_SYNTAX, i, "bad \\u escape in string");
            }
            i += 6;
            uint32_t cp = (uint32_t)cu;
            if (cu >= 0xD800 && cu <= 0xDBFF && end - i >= 6 && s[i] == '\\' && s[i + 1] == 'u') {
                long lowpart = hex4(s + i + 2);
                if (lowpart >= 0xDC00 && lowpart <= 0xDFFF) {
                    cp = 0x10000 + (((uint32_t)cu - 0xD800) << 10) + ((uint32_t)lowpart - 0xDC00);
                    i += 6;
                }
            }
            n += put_code_point(buf + n, cp);
        } else if (b < 0x20) {
            cJSON_free(buf);
            return fail(p, SIO_JSON_ERR_SYNTAX, i, "control character in string");
        } else if (b < 0x80) {
            buf[n++] = b;
            i++;
        } else {
            size_t k = utf8_sequence(s + i, end - i);
            if (k == 0) {
                cJSON_free(buf);
                return fail(p, SIO_JSON_ERR_UTF8, i, "invalid UTF-8 in string");
            }
            memcpy(buf + n, s + i, k);
            n += k;
            i += k;
        }
    }
    buf[n] = 0;
    *out = (char *)buf;
    p->pos = end + 1;
    return 0;
}

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Parses a number at p->pos (JSON grammar) into a double, correctly rounded
 * as JavaScript does; out-of-range values become +-Infinity or +-0. */
static int parse_number(parser *p, double *out)
{
    const uint8_t *s = p->s;
    size_t i = p->pos, len = p->len;
    int negative = 0;
    if (s[i] == '-') {
        negative = 1;
        i++;
    }
    size_t int_start = i;
    if (i < len && s[i] == '0') {
        i++;
    } else if (i < len && s[i] >= '1' && s[i] <= '9') {
        while (i < len && is_digit(s[i]))
            i++;
    } else {
        return fail(p, SIO_JSON_ERR_SYNTAX, i, "bad number");
    }
    size_t int_end = i, frac_start = i, frac_end = i;
    if (i < len && s[i] == '.') {
        i++;
        frac_start = i;
        if (i >= len || !is_digit(s[i]))
            return fail(p, SIO_JSON_ERR_SYNTAX, i, "bad number: no digit after '.'");
        while (i < len && is_digit(s[i]))
            i++;
        frac_end = i;
    }
    long long exponent = 0;
    int has_exponent = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        has_exponent = 1;
        i++;
        int exp_negative = 0;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            exp_negative = s[i] == '-';
            i++;
        }
        if (i >= len || !is_digit(s[i]))
            return fail(p, SIO_JSON_ERR_SYNTAX, i, "bad number: no digit in exponent");
        while (i < len && is_digit(s[i])) {
            if (exponent < 1000000000LL)
                exponent = exponent * 10 + (s[i] - '0');
            i++;
        }
        if (exp_negative)
            exponent = -exponent;
    }
    p->pos = i;

    size_t int_digits = int_end - int_start, frac_digits = frac_end - frac_start;
    if (!has_exponent && frac_digits == 0 && int_digits <= 15) {
        /* Exact in a double: the common case. */
        uint64_t v = 0;
        for (size_t k = int_start; k < int_end; k++)
            v = v * 10 + (uint64_t)(s[k] - '0');
        *out = negative ? -(double)v : (double)v;
        return 0;
    }
    /* Rewrite as "[-]<digits>e<exponent>" without a decimal point, so strtod
     * does not depend on the locale's decimal separator. */
    if (frac_digits > 1000000000u)
        frac_digits = 1000000000u;
    long long e = exponent - (long long)frac_digits;
    size_t cap = int_digits + frac_digits + 32;
    char small[128];
    char *buf = cap <= sizeof small ? small : eio_malloc(cap);
    size_t n = 0;
    if (negative)
        buf[n++] = '-';
    memcpy(buf + n, s + int_start, int_digits);
    n += int_digits;
    memcpy(buf + n, s + frac_start, frac_end - frac_start);
    n += frac_end - frac_start;
    snprintf(buf + n, cap - n, "e%lld", e);
    *out = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    return 0;
}

/* Frees everything held by the open frames (error path). */
static void drop_frames(frame *frames, size_t depth)
{
    for (size_t i = 0; i < depth; i++) {
        if (frames[i].key)
            cJSON_free(frames[i].key);
        sio_json_delete(frames[i].container);
    }
}

/* Appends item to the open container f (for objects, under f->key). */
static void attach(frame *f, cJSON *item)
{
    cJSON *c = f->container;
    if (f->is_object) {
        uint32_t v;
        item->string = f->key;
        f->key = NULL;
        if (array_index_key(item->string, &v))
            f->index_keys = 1;
    }
    item->next = NULL;
    if (!c->child) {
        c->child = item;
        item->prev = item;
    } else {
        f->tail->next = item;
        item->prev = f->tail;
        c->child->prev = item;
    }
    f->tail = item;
    f->count++;
}

/* Settles an object's duplicate keys and key order (see sio_json.h). */
static void finish_object(frame *f)
{
    size_t n = f->count;
    if (n < 2)
        return;
    cJSON *small[16];
    cJSON **items = n <= 16 ? small : eio_malloc(n * sizeof *items);
    size_t i = 0;
    for (cJSON *it = f->container->child; it; it = it->next)
        items[i++] = it;
    int changed = drop_duplicates(items, n);
    if (f->index_keys) {
        size_t m = 0;
        for (i = 0; i < n; i++)
            if (items[i])
                items[m++] = items[i];
        n = m;
        changed |= order_members(items, n);
    }
    if (changed)
        relink(f->container, items, n);
    if (items != small)
        free(items);
}

cJSON *sio_json_parse(const void *json, size_t len, int max_depth, sio_json_error *err)
{
    parser p = {(const uint8_t *)json, len, 0, err};
    if (max_depth <= 0)
        max_depth = SIO_JSON_DEFAULT_MAX_DEPTH;
    if (max_depth > SIO_JSON_MAX_DEPTH_LIMIT)
        max_depth = SIO_JSON_MAX_DEPTH_LIMIT;
    if (err) {
        err->code = SIO_JSON_OK;
        err->offset = 0;
        err->message = NULL;
    }
    if (!json)
        len = p.len = 0;

    frame stack_frames[8];
    frame *frames = stack_frames;
    size_t frames_cap = 8, depth = 0;
    cJSON *item = NULL;
    const uint8_t *s = p.s;

value:
    skip_ws(&p);
    if (p.pos >= len) {
        fail(&p, SIO_JSON_ERR_SYNTAX, p.pos, "unexpected end of JSON input");
        goto error;
    }
    switch (s[p.pos]) {
    case '{':
    case '[': {
        int is_object = s[p.pos] == '{';
        if (depth >= (size_t)max_depth) {
            fail(&p, SIO_JSON_ERR_DEPTH, p.pos, "nested too deeply");
            goto error;
        }
        if (depth == frames_cap) {
            size_t cap = frames_cap * 2;
            frame *grown = eio_malloc(cap * sizeof *grown);
            memcpy(grown, frames, depth * sizeof *grown);
            if (frames != stack_frames)
                free(frames);
            frames = grown;
            frames_cap = cap;
        }
        frame *f = &frames[depth++];
        memset(f, 0, sizeof *f);
        f->container = new_item(is_object ? cJSON_Object : cJSON_Array);
        f->is_object = is_object;
        p.pos++;
        skip_ws(&p);
        if (p.pos < len && s[p.pos] == (is_object ? '}' : ']')) {
            p.pos++;
            item = f->container;
            depth--;
            goto have_item;
        }
        if (is_object)
            goto key;
        goto value;
    }
    case '"': {
        char *str;
        if (parse_string(&p, &str) < 0)
            goto error;
        item = new_item(cJSON_String);
        item->valuestring = str;
        goto have_item;
    }
    case 't':
        if (len - p.pos >= 4 && memcmp(s + p.pos, "true", 4) == 0) {
            p.pos += 4;
            item = new_item(cJSON_True);
            goto have_item;
        }
        break;
    case 'f':
        if (len - p.pos >= 5 && memcmp(s + p.pos, "false", 5) == 0) {
            p.pos += 5;
            item = new_item(cJSON_False);
            goto have_item;
        }
        break;
    case 'n':
        if (len - p.pos >= 4 && memcmp(s + p.pos, "null", 4) == 0) {
            p.pos += 4;
            item = new_item(cJSON_NULL);
            goto have_item;
        }
        break;
    default:
        if (s[p.pos] == '-' || is_digit(s[p.pos])) {
            double v;
            if (parse_number(&p, &v) < 0)
                goto error;
            item = cJSON_CreateNumber(v);
            if (!item)
                eio_oom();
            goto have_item;
        }
        break;
    }
    fail(&p, SIO_JSON_ERR_SYNTAX, p.pos, "unexpected character");
    goto error;

key:
    /* In an object, after '{' or ',' and whitespace: a key must follow. */
    if (p.pos >= len) {
        fail(&p, SIO_JSON_ERR_SYNTAX, p.pos, "unexpected end of JSON input");
        goto error;
    }
    if (s[p.pos] != '"') {
        fail(&p, SIO_JSON_ERR_SYNTAX, p.pos, "expected a string key");
        goto error;
    }
    if (parse_string(&p, &frames[depth - 1].key) < 0)
        goto error;
    skip_ws(&p);
    if (p.pos >= len || s[p.pos] != ':') {
        fail(&p, SIO_JSON_ERR_SYNTAX, p.pos, "expected ':' after key");
        goto error;
    }
    p.pos++;
    goto value;

have_item:
    if (depth == 0)
        goto done;
    {
        frame *f = &frames[depth - 1];
        attach(f, item);
        item = NULL;
        skip_ws(&p);
        if (p.pos >= len) {
            fail(&p, SIO_JSON_ERR_SYNTAX, p.pos, "unexpected end of JSON input");
            goto error;
        }
        uint8_t c = s[p.pos];
        if (c == ',') {
            p.pos++;
            skip_ws(&p);
            if (f->is_object)
                goto key;
            goto value;
        }
        if (c == (f->is_object ? '}' : ']')) {
            p.pos++;
            if (f->is_object)
                finish_object(f);
            item = f->container;
            depth--;
            goto have_item;
        }
        fail(&p, SIO_JSON_ERR_SYNTAX, p.pos,
             f->is_object ? "expected ',' or '}'" : "expected ',' or ']'");
        goto error;
    }

done:
    skip_ws(&p);
    if (p.pos != len) {
        fail(&p, SIO_JSON_ERR_SYNTAX, p.pos, "unexpected data after JSON value");
        sio_json_delete(item);
        item = NULL;
    }
    if (frames != stack_frames)
        free(frames);
    return item;

error:
    /* item is either NULL or not yet attached. */
    sio_json_delete(item);
    drop_frames(frames, depth);
    if (frames != stack_frames)
        free(frames);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Numbers as JavaScript prints them.                                       */

/* Checks whether digits[0..k) x 10^(exp10 - k + 1) reads back as v. */
static int reads_back(const char *digits, int k, int exp10, double v)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.*se%d", k, digits, exp10 - k + 1);
    return strtod(buf, NULL) == v;
}

/* Adds delta (+1 or -1) to the last digit of digits[0..k), in place. Returns
 * the change of exp10 (+1 when 99..9 rounds up to 100..0, -1 when 100..0
 * goes down to 99..9), or 2 if the result is not representable (0). */
static int step_digits(char *digits, int k, int delta)
{
    int i = k - 1;
    if (delta > 0) {
        while (i >= 0 && digits[i] == '9')
            digits[i--] = '0';
        if (i < 0) {
            digits[0] = '1'; /* 999 + 1 = 1000: keep k digits "100", exp + 1 */
            return 1;
        }
        digits[i]++;
        return 0;
    }
    while (i >= 0 && digits[i] == '0')
        digits[i--] = '9';
    if (i < 0)
        return 2;
    digits[i]--;
    if (digits[0] == '0') {
        if (k == 1)
            return 2;
        /* 100 - 1 = 099: shift to "99" + one more 9, exp - 1 */
        memmove(digits, digits + 1, (size_t)k - 1);
        digits[k - 1] = '9';
        return -1;
    }
    return 0;
}

/* Tries prec significant digits: the correctly rounded decimal, else a
 * neighbour in the last digit (the closest prec-digit decimal may fall just
 * outside v's rounding interval while a neighbour is inside: at powers of
 * two the interval is lopsided). On success stores the digits (no trailing
 * zeros) and returns 1. */
static int try_precision(double v, int prec, char digits[18], int *k, int *exp10)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
    /* "d.ddde+XX", the '.' being the locale's separator: keep the digits. */
    char cand[18];
    int n = 0;
    const char *q = buf;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9' && n < 17)
            cand[n++] = *q;
    int e = *q == 'e' ? atoi(q + 1) : 0;
    int found = reads_back(cand, n, e, v);
    if (!found) {
        char up[18], down[18];
        memcpy(up, cand, (size_t)n);
        memcpy(down, cand, (size_t)n);
        int eu = step_digits(up, n, +1), ed = step_digits(down, n, -1);
        if (eu != 2 && reads_back(up, n, e + eu, v)) {
            memcpy(cand, up, (size_t)n);
            e += eu;
            found = 1;
        } else if (ed != 2 && reads_back(down, n, e + ed, v)) {
            memcpy(cand, down, (size_t)n);
            e += ed;
            found = 1;
        }
    }
    if (!found)
        return 0;
    while (n > 1 && cand[n - 1] == '0')
        n--;
    memcpy(digits, cand, (size_t)n);
    digits[n] = 0;
    *k = n;
    *exp10 = e;
    return 1;
}

/* Finds the shortest digit string that reads back as v > 0 (finite), the
 * closest one to v when several have that length, as ECMAScript's
 * Number::toString requires. Stores up to 17 digits in digits (no trailing
 * zeros), their count in *k and the decimal exponent of the first digit.
 *
 * Fast path: distinct decimals of at most 15 digits never share a double
 * (DBL_DIG), so if the 15-digit rounding reads back, it is the shortest once
 * its trailing zeros are dropped. If it does not, no shorter one exists
 * either, except when v is a power of two (lopsided interval): then all
 * lengths are tried, as they are for subnormal numbers (fewer digits). */
static void shortest_digits(double v, char digits[18], int *k, int *exp10)
{
    int normal = v >= 2.2250738585072014e-308; /* DBL_MIN: subnormals have fewer digits */
    if (normal && try_precision(v, 15, digits, k, exp10))
        return;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int first = (!normal || (bits & 0xFFFFFFFFFFFFFull) == 0) ? 1 : 16;
    for (int prec = first; prec < 17; prec++)
        if ((prec != 15 || !normal) && try_precision(v, prec, digits, k, exp10))
            return;
    if (!try_precision(v, 17, digits, k, exp10)) {
        /* 17 digits always read back; keep a defined result regardless. */
        digits[0] = '0';
        digits[1] = 0;
        *k = 1;
        *exp10 = 0;
    }
}

size_t sio_json_format_number(double v, char out[SIO_JSON_NUMBER_MAX])
{
    if (isnan(v) || isinf(v)) {
        memcpy(out, "null", 5);
        return 4;
    }
    if (v == 0) {
        out[0] = '0';
        out[1] = 0;
        return 1;
    }
    if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v)
        return (size_t)snprintf(out, SIO_JSON_NUMBER_MAX, "%lld", (long long)v);

    char digits[18];
    int k, e;
    size_t o = 0;
    if (v < 0) {
        out[o++] = '-';
        v = -v;
    }
    shortest_digits(v, digits, &k, &e);
    int n = e + 1; /* value = 0.digits x 10^n */
    if (k <= n && n <= 21) {
        memcpy(out + o, digits, (size_t)k);
        o += (size_t)k;
        for (int i = 0; i < n - k; i++)
            out[o++] = '0';
    } else if (0 < n && n <= 21) {
        memcpy(out + o, digits, (size_t)n);
        o += (size_t)n;
        out[o++] = '.';
        memcpy(out + o, digits + n, (size_t)(k - n));
        o += (size_t)(k - n);
    } else if (-6 < n && n <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -n; i++)
            out[o++] = '0';
        memcpy(out + o, digits, (size_t)k);
        o += (size_t)k;
    } else {
        out[o++] = digits[0];
        if (k > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, (size_t)(k - 1));
            o += (size_t)(k - 1);
        }
        o += (size_t)snprintf(out + o, SIO_JSON_NUMBER_MAX - o, "e%c%d", n - 1 >= 0 ? '+' : '-',
                              n - 1 >= 0 ? n - 1 : 1 - n);
    }
    out[o] = 0;
    return o;
}

/* ------------------------------------------------------------------------ */
/* Strings as JSON.stringify prints them.                                   */

/* If s starts with a surrogate in its 3-byte form, returns the code unit. */
static unsigned surrogate_at(const uint8_t *s)
{
    if (s[0] == 0xED && s[1] >= 0xA0 && s[1] <= 0xBF && s[2] >= 0x80 && s[2] <= 0xBF)
        return 0xD000u | ((unsigned)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    return 0;
}

static void put_escape_u(eio_buf *out, unsigned cu)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t *w = eio_buf_reserve(out, 6);
    w[0] = '\\';
    w[1] = 'u';
    w[2] = (uint8_t)hex[(cu >> 12) & 15];
    w[3] = (uint8_t)hex[(cu >> 8) & 15];
    w[4] = (uint8_t)hex[(cu >> 4) & 15];
    w[5] = (uint8_t)hex[cu & 15];
    eio_buf_advance(out, 6);
}

static void print_string(eio_buf *out, const char *str)
{
    const uint8_t *s = (const uint8_t *)(str ? str : "");
    eio_buf_append_byte(out, '"');
    size_t i = 0, run = 0; /* s[run..i) is to be copied as is */
    size_t len = strlen((const char *)s);
    for (;;) {
        i += plain_run(s + i, len - i);
        uint8_t b = s[i];
        if (b >= 0x80) {
            size_t k = utf8_sequence(s + i, 4); /* stops at the NUL: no overread */
            if (k) {
                i += k;
                continue;
            }
        }
        if (b == 0)
            break;
        eio_buf_append(out, s + run, i - run);
        if (b < 0x80) {
            const char *esc = NULL;
            switch (b) {
            case '"': esc = "\\\""; break;
            case '\\': esc = "\\\\"; break;
            case '\b': esc = "\\b"; break;
            case '\f': esc = "\\f"; break;
            case '\n': esc = "\\n"; break;
            case '\r': esc = "\\r"; break;
            case '\t': esc = "\\t"; break;
            }
            if (esc)
                eio_buf_append(out, esc, 2);
            else
                put_escape_u(out, b);
            i++;
        } else if (b == 0xC0 && s[i + 1] == 0x80) {
            put_escape_u(out, 0);
            i += 2;
        } else if (surrogate_at(s + i)) {
            unsigned hi = surrogate_at(s + i);
            unsigned lo = hi < 0xDC00 ? surrogate_at(s + i + 3) : 0;
            if (lo >= 0xDC00) {
                /* A pair held as two 3-byte forms is one character in JS. */
                uint8_t four[4];
                put_code_point(four, 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
                eio_buf_append(out, four, 4);
                i += 6;
            } else {
                put_escape_u(out, hi);
                i += 3;
            }
        } else {
            eio_buf_append(out, "\xEF\xBF\xBD", 3); /* U+FFFD */
            i++;
        }
        run = i;
    }
    eio_buf_append(out, s + run, i - run);
    eio_buf_append_byte(out, '"');
}

/* ------------------------------------------------------------------------ */
/* Printer: iterative, with an explicit stack of open containers.           */

typedef struct pframe {
    const cJSON *next; /* next child to print (when order is NULL) */
    cJSON **order;     /* object with array-index keys: members in print order */
    size_t order_pos, order_len;
    int is_object;
    int first;
} pframe;

static int has_index_key(const cJSON *object)
{
    uint32_t v;
    for (const cJSON *c = object->child; c; c = c->next)
        if (array_index_key(c->string, &v))
            return 1;
    return 0;
}

int sio_json_print_hook(eio_buf *out, const cJSON *item, sio_json_object_hook hook, void *ctx)
{
    pframe stack_frames[16];
    pframe *frames = stack_frames;
    size_t cap = 16, depth = 0;
    int rc = 0;
    const cJSON *v = item;

    for (;;) {
        /* Print v (never NULL here). */
        int type = v ? (v->type & 0xFF) : cJSON_Invalid;
        int open = 0;
        switch (type) {
        case cJSON_False: eio_buf_append(out, "false", 5); break;
        case cJSON_True: eio_buf_append(out, "true", 4); break;
        case cJSON_Number: {
            char num[SIO_JSON_NUMBER_MAX];
            size_t n = sio_json_format_number(v->valuedouble, num);
            eio_buf_append(out, num, n);
            break;
        }
        case cJSON_String: print_string(out, v->valuestring); break;
        case cJSON_Raw:
            if (v->valuestring)
                eio_buf_append_str(out, v->valuestring);
            break;
        case cJSON_Array:
            eio_buf_append_byte(out, '[');
            open = 1;
            break;
        case cJSON_Object:
            if (hook) {
                int h = hook(ctx, v, out);
                if (h < 0) {
                    rc = h;
                    goto finish;
                }
                if (h > 0)
                    break;
            }
            eio_buf_append_byte(out, '{');
            open = 2;
            break;
        default: /* cJSON_NULL, cJSON_Invalid (undefined) */ eio_buf_append(out, "null", 4); break;
        }
        if (open) {
            if (depth == cap) {
                pframe *grown = eio_malloc(cap * 2 * sizeof *grown);
                memcpy(grown, frames, depth * sizeof *grown);
                if (frames != stack_frames)
                    free(frames);
                frames = grown;
                cap *= 2;
            }
            pframe *f = &frames[depth++];
            memset(f, 0, sizeof *f);
            f->is_object = open == 2;
            f->first = 1;
            f->next = v->child;
            if (f->is_object && has_index_key(v)) {
                size_t n = 0;
                for (const cJSON *c = v->child; c; c = c->next)
                    n++;
                f->order = eio_malloc(n * sizeof *f->order);
                n = 0;
                for (cJSON *c = v->child; c; c = c->next)
                    f->order[n++] = c;
                order_members(f->order, n);
                f->order_len = n;
            }
        }

        /* Find the next value to print, closing finished containers. */
        for (;;) {
            if (depth == 0)
                goto finish;
            pframe *f = &frames[depth - 1];
            const cJSON *c;
            if (f->order) {
                c = f->order_pos < f->order_len ? f->order[f->order_pos++] : NULL;
            } else {
                c = f->next;
                if (c)
                    f->next = c->next;
            }
            if (!c) {
                eio_buf_append_byte(out, f->is_object ? '}' : ']');
                free(f->order);
                depth--;
                continue;
            }
            if (f->is_object) {
                if ((c->type & 0xFF) == cJSON_Invalid)
                    continue; /* undefined members are left out */
                if (!f->first)
                    eio_buf_append_byte(out, ',');
                print_string(out, c->string);
                eio_buf_append_byte(out, ':');
            } else if (!f->first) {
                eio_buf_append_byte(out, ',');
            }
            f->first = 0;
            v = c;
            break;
        }
    }

finish:
    while (depth > 0)
        free(frames[--depth].order);
    if (frames != stack_frames)
        free(frames);
    return rc;
}

void sio_json_print_append(eio_buf *out, const cJSON *item)
{
    sio_json_print_hook(out, item, NULL, NULL);
}

char *sio_json_print(const cJSON *item, size_t *len)
{
    eio_buf b = EIO_BUF_INIT;
    sio_json_print_append(&b, item);
    eio_buf_cstr(&b);
    if (len)
        *len = b.len;
    return (char *)b.data;
}

/* ------------------------------------------------------------------------ */
/* Small helpers.                                                           */

cJSON *sio_json_get(const cJSON *object, const char *key)
{
    if (!object || (object->type & 0xFF) != cJSON_Object || !key)
        return NULL;
    for (cJSON *c = object->child; c; c = c->next)
        if (c->string && strcmp(c->string, key) == 0)
            return c;
    return NULL;
}

size_t sio_json_string_bytes(const char *s, eio_buf *out)
{
    size_t start = out->len;
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0, run = 0;
    for (; u[i]; i++) {
        if (u[i] == 0xC0 && u[i + 1] == 0x80) {
            eio_buf_append(out, u + run, i - run);
            eio_buf_append_byte(out, 0);
            i++;
            run = i + 1;
        }
    }
    eio_buf_append(out, u + run, i - run);
    return out->len - start;
}

cJSON *sio_json_create_string(const void *bytes, size_t len)
{
    const uint8_t *b = bytes;
    size_t nuls = 0;
    for (size_t i = 0; i < len; i++)
        nuls += b[i] == 0;
    char *s = json_alloc(len + nuls + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (b[i] == 0) {
            s[n++] = (char)0xC0;
            s[n++] = (char)0x80;
        } else {
            s[n++] = (char)b[i];
        }
    }
    s[n] = 0;
    cJSON *item = new_item(cJSON_String);
    item->valuestring = s;
    return item;
}
