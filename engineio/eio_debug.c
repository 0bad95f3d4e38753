/*
 * eio_debug: Node's `debug` package as the engine uses it (see eio_debug.h):
 * the DEBUG matching (debug 4.4's enable() / enabled() / matchesTemplate),
 * the line format of a non-TTY stderr, and the engine's namespaces.
 *
 * Threading: any thread; nothing here keeps state (the server keeps its
 * mask, eio_server.debug, set once at creation).
 * Ownership: nothing is allocated.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eio_debug.h"
#include "eio_internal.h"

/* debug's matchesTemplate: '*' matches any run (backtracking to the last
 * star), over search[0..slen) and template[0..tlen). */
static int matches_template(const char *search, size_t slen, const char *tmpl, size_t tlen)
{
    size_t si = 0, ti = 0, match = 0;
    size_t star = (size_t)-1;
    while (si < slen) {
        if (ti < tlen && (tmpl[ti] == search[si] || tmpl[ti] == '*')) {
            if (tmpl[ti] == '*') {
                star = ti;
                match = si;
                ti++;
            } else {
                si++;
                ti++;
            }
        } else if (star != (size_t)-1) {
            ti = star + 1;
            match++;
            si = match;
        } else {
            return 0;
        }
    }
    while (ti < tlen && tmpl[ti] == '*')
        ti++;
    return ti == tlen;
}

static int is_separator(char c)
{
    return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Walks the spec's names; skips (pass 1) or names (pass 0) matching name. */
static int any_match(const char *spec, const char *name, int skips)
{
    size_t nlen = strlen(name);
    const char *p = spec;
    while (*p) {
        while (*p && is_separator(*p))
            p++;
        const char *start = p;
        while (*p && !is_separator(*p))
            p++;
        size_t len = (size_t)(p - start);
        if (!len)
            continue;
        int is_skip = start[0] == '-';
        if (is_skip != skips)
            continue;
        if (matches_template(name, nlen, start + is_skip, len - (size_t)is_skip))
            return 1;
    }
    return 0;
}

int eio_debug_enabled(const char *spec, const char *name)
{
    if (!spec || !*spec || !name)
        return 0;
    if (any_match(spec, name, 1))
        return 0;
    return any_match(spec, name, 0);
}

size_t eio_debug_format_line(char *out, size_t size, int64_t epoch_ms, const char *name,
                             const char *message)
{
    time_t sec = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    int n = snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s\n", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(epoch_ms % 1000), name, message);
    if (n < 0)
        n = 0;
    if ((size_t)n >= size) { /* cut: keep the newline */
        out[size - 2] = '\n';
        out[size - 1] = 0;
        return size - 1;
    }
    return (size_t)n;
}

const char *eio_debug_data(char *out, size_t size, const void *data, size_t len, int binary)
{
    static const char hex[] = "0123456789abcdef";
    if (binary) {
        snprintf(out, size, "<binary %zu bytes>", len);
        return out;
    }
    const unsigned char *d = data;
    size_t o = 0, shown = 0;
    size_t room = size - 32; /* the "... (N bytes)" tail and the NUL */
    for (; shown < len && shown < EIO_DEBUG_DATA_MAX && o + 6 < room; shown++) {
        unsigned char ch = d[shown];
        if (ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = 0;
    if (shown < len)
        snprintf(out + o, size - o, "... (%zu bytes)", len);
    return out;
}

void eio_debug_print(const char *name, const char *fmt, ...)
{
    char msg[512], line[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    size_t n = eio_debug_format_line(line, sizeof(line), ms, name, msg);
    ssize_t w = write(STDERR_FILENO, line, n); /* one write: lines from threads never mix */
    (void)w;
}

/* ---------------------------------------------------------------- the engine's namespaces */

static const char *const engine_names[] = {"engine", "engine:socket", "engine:polling", "engine:ws",
                                           "engine:transport"};

unsigned eio_debug_mask(const char *spec, const char *const *names, size_t n)
{
    unsigned mask = 0;
    for (size_t i = 0; i < n; i++)
        if (eio_debug_enabled(spec, names[i]))
            mask |= 1u << i;
    return mask;
}

void eio_debug_trace(const char *const *names, size_t n, unsigned ns, const char *fmt, va_list ap)
{
    const char *name = names[0];
    for (size_t i = 0; i < n; i++)
        if (ns == 1u << i)
            name = names[i];
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    eio_debug_print(name, "%s", msg);
}

#define N_ENGINE_NAMES (sizeof(engine_names) / sizeof(*engine_names))

unsigned eio__debug_mask(const char *spec)
{
    return eio_debug_mask(spec, engine_names, N_ENGINE_NAMES);
}

void eio__debug(unsigned ns, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    eio_debug_trace(engine_names, N_ENGINE_NAMES, ns, fmt, ap);
    va_end(ap);
}
