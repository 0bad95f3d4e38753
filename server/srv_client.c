/*
 * srv_client: the socket.io-client bundle served as Node's socket.io serves
 * it (see srv_client.h): the files read once at load, ETag from the
 * package's version, br / gzip / deflate by Accept-Encoding with Node's
 * parameters (brotli quality 11, window 22; zlib level 6), each compressed
 * form made on first use and kept. Node compresses on every request; the
 * bytes are the same files, so making each form once changes nothing a
 * client sees and costs one compression per file and coding. Brotli is
 * Debian's libbrotlienc, used only here; gzip and deflate are the engine's
 * (eio_compress).
 *
 * Threading: load and free on the main thread; answers on civetweb's worker
 * threads, concurrently. The file table never changes after load; a file's
 * coded forms are filled under its mutex and never change once filled.
 * Ownership: the srv_client owns every byte it hands out; answers borrow.
 */
#include "server/srv_client.h"

#include <brotli/encode.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engineio/eio_buf.h"
#include "engineio/eio_compress.h"
#include "engineio/eio_http.h"

const char *const srv__client_names[SRV_CLIENT_FILES] = {
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
    "socket.io.js",
    "socket.io.js.map",
    "socket.io.min.js",
    "socket.io.min.js.map",
    "socket.io.msgpack.min.js",
    "socket.io.msgpack.min.js.map",
};

/* sendFile's order: accepts(req).encodings(["br", "gzip", "deflate"]). */
enum { CODED_BR, CODED_GZIP, CODED_DEFLATE, N_CODED };
static const char *const coding_names[N_CODED] = {"br", "gzip", "deflate"};

#define MAX_FILE_BYTES (64u << 20) /* a bundle file larger than this is refused at load */

typedef struct client_file {
    uint8_t *data;
    size_t len;
    int is_map;
    pthread_mutex_t mu;      /* guards the coded forms while they are made */
    eio_buf coded[N_CODED];  /* compressed forms, made on first use */
    int coded_done[N_CODED]; /* atomic: coded[i] is complete */
} client_file;

struct srv_client {
    char *version;
    char etag[80];      /* "\"<version>\"" */
    char weak_etag[84]; /* "W/\"<version>\"" */
    client_file files[SRV_CLIENT_FILES];
};

void srv__client_dir(const char *option, char *out, size_t size)
{
    const char *env = getenv("SIO_CLIENT_DIST");
    if (option && *option) {
        snprintf(out, size, "%s", option);
    } else if (env && *env) {
        snprintf(out, size, "%s", env);
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = 0;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        snprintf(out, size, "%s/client-dist", slash ? exe : ".");
    }
}

/* Reads a whole regular file (at most MAX_FILE_BYTES). Returns 0, or -1 with
 * errno set. */
static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE_BYTES) {
        fclose(f);
        errno = EFBIG;
        return -1;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = eio_malloc(n ? n : 1);
    if (fread(p, 1, n, f) != n) {
        free(p);
        fclose(f);
        errno = EIO;
        return -1;
    }
    fclose(f);
    *data = p;
    *len = n;
    return 0;
}

/* The "version" of dir/package.json, or of dir/../package.json (dir is then
 * the package's dist/). NULL if neither has one. */
static char *read_version(const char *dir)
{
    static const char *const where[] = {"/package.json", "/../package.json"};
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX];
        uint8_t *data;
        size_t len;
        snprintf(path, sizeof(path), "%s%s", dir, where[i]);
        if (read_file(path, &data, &len) != 0)
            continue;
        cJSON *root = cJSON_ParseWithLengthOpts((const char *)data, len, NULL, 0);
        free(data);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");
        char *version = cJSON_IsString(v) && v->valuestring[0] ? eio_strdup(v->valuestring) : NULL;
        cJSON_Delete(root);
        if (version)
            return version;
    }
    return NULL;
}

srv_client *srv__client_load(const char *dir, char *err, size_t err_size)
{
    srv_client *c = eio_calloc(1, sizeof(*c));
    for (size_t i = 0; i < SRV_CLIENT_FILES; i++)
        pthread_mutex_init(&c->files[i].mu, NULL);
    c->version = read_version(dir);
    if (!c->version) {
        snprintf(err, err_size, "no package.json with a version in %s (nor one level up)", dir);
        srv__client_free(c);
        return NULL;
    }
    if (strlen(c->version) > 64) {
        snprintf(err, err_size, "the version in %s/package.json is too long", dir);
        srv__client_free(c);
        return NULL;
    }
    snprintf(c->etag, sizeof(c->etag), "\"%s\"", c->version);
    snprintf(c->weak_etag, sizeof(c->weak_etag), "W/\"%s\"", c->version);
    for (size_t i = 0; i < SRV_CLIENT_FILES; i++) {
        char path[PATH_MAX];
        client_file *f = &c->files[i];
        snprintf(path, sizeof(path), "%s/%s", dir, srv__client_names[i]);
        if (read_file(path, &f->data, &f->len) != 0) {
            snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
            srv__client_free(c);
            return NULL;
        }
        size_t nl = strlen(srv__client_names[i]);
        f->is_map = nl > 4 && strcmp(srv__client_names[i] + nl - 4, ".map") == 0;
    }
    return c;
}

void srv__client_free(srv_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < SRV_CLIENT_FILES; i++) {
        client_file *f = &c->files[i];
        free(f->data);
        for (size_t k = 0; k < N_CODED; k++)
            eio_buf_free(&f->coded[k]);
        pthread_mutex_destroy(&f->mu);
    }
    free(c->version);
    free(c);
}

const char *srv__client_version(const srv_client *c)
{
    return c->version;
}

/* Brotli as zlib.createBrotliCompress() makes it by default: quality 11,
 * window 22, generic mode. */
static void brotli_compress(const uint8_t *in, size_t len, eio_buf *out)
{
    size_t room = BrotliEncoderMaxCompressedSize(len);
    if (room == 0)
        room = len + 1024; /* "too large to tell": brotli's output is never that much larger */
    uint8_t *dst = eio_buf_reserve(out, room);
    size_t n = room;
    if (!BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC,
                               len, in, &n, dst)) {
        fprintf(stderr, "fatal: brotli could not compress %zu bytes\n", len);
        abort();
    }
    eio_buf_advance(out, n);
}

/* The file's bytes in coding k, made the first time. */
static const eio_buf *coded(client_file *f, int k)
{
    if (!__atomic_load_n(&f->coded_done[k], __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&f->mu);
        if (!f->coded_done[k]) {
            if (k == CODED_BR)
                brotli_compress(f->data, f->len, &f->coded[k]);
            else
                eio_compress(k == CODED_GZIP ? EIO_CODING_GZIP : EIO_CODING_DEFLATE, f->data,
                             f->len, &f->coded[k]);
            __atomic_store_n(&f->coded_done[k], 1, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&f->mu);
    }
    return &f->coded[k];
}

void srv__client_answer(srv_client *c, const char *name, const char *if_none_match,
                        const char *accept_encoding, srv_client_answer *out)
{
    memset(out, 0, sizeof(*out));
    client_file *f = NULL;
    for (size_t i = 0; i < SRV_CLIENT_FILES; i++)
        if (strcmp(name, srv__client_names[i]) == 0)
            f = &c->files[i];
    if (!f) {
        out->status = 404;
        return;
    }
    /* Node: `if (etag)`: an empty header is no header. */
    if (if_none_match && *if_none_match &&
        (strcmp(if_none_match, c->etag) == 0 || strcmp(if_none_match, c->weak_etag) == 0)) {
        out->status = 304;
        return;
    }
    int k = eio_http_accept_encoding(accept_encoding, accept_encoding ? strlen(accept_encoding) : 0,
                                     coding_names, N_CODED);
    out->status = 200;
    int n = snprintf(out->headers, sizeof(out->headers),
                     "Cache-Control: public, max-age=0\r\n"
                     "Content-Type: application/%s; charset=utf-8\r\n"
                     "ETag: %s\r\n",
                     f->is_map ? "json" : "javascript", c->etag);
    if (k >= 0 && n > 0 && (size_t)n < sizeof(out->headers))
        snprintf(out->headers + n, sizeof(out->headers) - (size_t)n, "content-encoding: %s\r\n",
                 coding_names[k]);
    if (k >= 0) {
        const eio_buf *b = coded(f, k);
        out->body = b->data;
        out->len = b->len;
    } else {
        out->body = f->data;
        out->len = f->len;
    }
}
