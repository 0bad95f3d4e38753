/*
 * libFuzzer driver for the request query parser: eio_request_query (the
 * lookup every handshake and poll does on the peer's query string) and
 * eio_form_decode under it. Checks: no crash, no read past the string, a
 * found value is NUL-terminated at its length, and decoding never grows.
 * Threading: single thread. Ownership: everything is freed per input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/eio_packet.h"
#include "engineio/eio_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *q = malloc(size + 1);
    memcpy(q, data, size);
    q[size] = 0;
    eio_request r;
    memset(&r, 0, sizeof(r));
    r.method = "GET";
    r.path = "/engine.io/";
    r.query = q;
    static const char *const keys[] = {"EIO", "transport", "sid", "b64", "j", "", "t"};
    eio_buf out = EIO_BUF_INIT;
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
        int found = eio_request_query(&r, keys[i], &out);
        if (found && out.data && out.data[out.len] != 0)
            abort();
        if (out.len > size)
            abort();
    }
    eio_buf_reset(&out);
    eio_form_decode(data, size, &out);
    if (out.len > size)
        abort();
    eio_buf_free(&out);
    free(q);
    return 0;
}
