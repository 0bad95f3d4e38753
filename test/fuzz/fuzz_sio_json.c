/*
 * libFuzzer driver for sio_json: parses arbitrary bytes; when they are
 * accepted, prints the tree, parses the printed text again and checks that
 * printing it gives the same text (a fixed point), and that the tree's
 * cJSON links are consistent. Crashes, leaks and sanitizer reports fail.
 * Threading: single thread. Ownership: everything is freed per input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/sio_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks child->prev is the tail and next chains end, on the whole tree. */
static void check_links(const cJSON *item, int depth)
{
    if (depth > SIO_JSON_MAX_DEPTH_LIMIT + 1)
        abort();
    const cJSON *last = NULL;
    for (const cJSON *c = item->child; c; c = c->next) {
        if ((item->type & 0xFF) == cJSON_Object && !c->string)
            abort();
        check_links(c, depth + 1);
        last = c;
    }
    if (item->child && item->child->prev != last)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sio_json_error err;
    cJSON *tree = sio_json_parse(data, size, 0, &err);
    if (!tree) {
        if (err.code >= 0 || !err.message || err.offset > size)
            abort();
        return 0;
    }
    check_links(tree, 0);
    size_t len1;
    char *text1 = sio_json_print(tree, &len1);
    cJSON *again = sio_json_parse(text1, len1, 0, &err);
    if (!again)
        abort(); /* what we print must parse */
    size_t len2;
    char *text2 = sio_json_print(again, &len2);
    if (len1 != len2 || memcmp(text1, text2, len1) != 0)
        abort();
    free(text1);
    free(text2);
    sio_json_delete(again);
    sio_json_delete(tree);
    return 0;
}
