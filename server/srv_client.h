/*
 * srv_client: Socket.IO's serveClient, the answers of Node's socket.io
 * serve() and sendFile() (lib/index.ts) for the socket.io-client bundle. Not
 * a public header: srv_server.c puts these answers on civetweb and hands the
 * names to the engine (eio_server_add_backend_name).
 *
 * The bundle is a folder holding the eight files of socket.io-client's dist/
 * and the package's package.json (or the dist/ folder itself, with
 * package.json one level up), read whole at load. An answer is 304 when
 * If-None-Match is the ETag "<version>" or W/"<version>"; else 200 with
 * Cache-Control "public, max-age=0", Content-Type
 * "application/javascript; charset=utf-8" ("application/json; charset=utf-8"
 * for a .map), ETag "<version>" and, when Accept-Encoding takes one of br,
 * gzip, deflate (picked as Node's accepts picks them), content-encoding and
 * the compressed bytes. Each compressed form is made once, when first asked
 * for, and kept: the files do not change while the server runs.
 *
 * Threading: srv__client_load and srv__client_free from the main thread;
 * srv__client_answer from any number of threads at once (civetweb's workers).
 * A file's compressed forms are made under that file's mutex, so a slow one
 * (brotli of a source map: about a second) holds up only the requests for it.
 * Ownership: the srv_client owns the files and their compressed forms; an
 * answer's body is borrowed from it, valid until srv__client_free.
 */
#ifndef SRV_CLIENT_H
#define SRV_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct srv_client srv_client;

/* The names served under the engine path, as Node's CLIENT_FILES. */
#define SRV_CLIENT_FILES 8
extern const char *const srv__client_names[SRV_CLIENT_FILES];

/* The bundle folder to use: option when set, else $SIO_CLIENT_DIST, else
 * "client-dist" next to the running program. Writes it to out. */
void srv__client_dir(const char *option, char *out, size_t size);

/* Reads the bundle in dir. Returns it, or NULL with the reason in err. */
srv_client *srv__client_load(const char *dir, char *err, size_t err_size);
void srv__client_free(srv_client *c); /* NULL is a no-op */
/* The package's version (the ETag without its quotes). */
const char *srv__client_version(const srv_client *c);

typedef struct srv_client_answer {
    int status;          /* 200, 304, or 404 for a name that is not a bundle file */
    char headers[256];   /* the header lines, each ending in CRLF (no framing, no Date) */
    const uint8_t *body; /* borrowed; NULL for 304 */
    size_t len;
} srv_client_answer;

/* Node's serve(filename) for one request: if_none_match and accept_encoding
 * are the headers' values (several of one name joined with ", ", as Node
 * joins them), NULL when absent. */
void srv__client_answer(srv_client *c, const char *name, const char *if_none_match,
                        const char *accept_encoding, srv_client_answer *out);

#endif
