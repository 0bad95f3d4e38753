/*
 * sio_args: the arguments of an event or acknowledgement. A JSON array whose
 * binary values are placeholders {"_placeholder":true,"num":i}, with the
 * bytes of placeholder i in bins[i] (shared, reference-counted frames), which
 * is the form packets are decoded into and encoded from, so a handler can
 * re-emit what it received without copying.
 *
 * Threading: an args object belongs to one thread at a time.
 * Ownership: see sio.h; the array is freed with sio_json_delete.
 */
#include <stdlib.h>
#include <string.h>

#include "socketio/sio_internal.h"
#include "socketio/sio_json.h"

sio_args *sio_args_new(void)
{
    sio_args *a = eio_calloc(1, sizeof(*a));
    a->array = cJSON_CreateArray();
    if (!a->array)
        eio_oom();
    return a;
}

sio_args *sio__args_take(cJSON *array, eio_frame **bins, size_t n_bins)
{
    sio_args *a = eio_calloc(1, sizeof(*a));
    a->array = array ? array : cJSON_CreateArray();
    if (!a->array)
        eio_oom();
    a->bins = bins;
    a->n_bins = a->cap_bins = n_bins;
    return a;
}

sio_args *sio_args_new_json(const char *json_array)
{
    sio_json_error err;
    cJSON *arr = sio_json_parse(json_array, strlen(json_array), 0, &err);
    if (!arr || !cJSON_IsArray(arr)) {
        sio_json_delete(arr);
        return NULL;
    }
    return sio__args_take(arr, NULL, 0);
}

sio_args *sio_args_copy(const sio_args *a)
{
    sio_args *c = eio_calloc(1, sizeof(*c));
    c->array = cJSON_Duplicate(a->array, 1);
    if (!c->array)
        eio_oom();
    if (a->n_bins) {
        c->bins = eio_malloc(a->n_bins * sizeof(*c->bins));
        for (size_t i = 0; i < a->n_bins; i++)
            c->bins[i] = a->bins[i] ? eio_frame_ref(a->bins[i]) : NULL;
        c->n_bins = c->cap_bins = a->n_bins;
    }
    return c;
}

void sio_args_free(sio_args *a)
{
    if (!a)
        return;
    sio_json_delete(a->array);
    for (size_t i = 0; i < a->n_bins; i++)
        eio_frame_unref(a->bins[i]);
    free(a->bins);
    free(a);
}

/* Renumbers the placeholders of a copied tree into dst's binary values. */
static void rehome(sio_args *dst, const sio_args *src, cJSON *v)
{
    long long num = sio_packet_placeholder_num(v);
    if (num >= 0) {
        if ((size_t)num < src->n_bins && src->bins[num]) {
            if (dst->n_bins == dst->cap_bins) {
                dst->cap_bins = dst->cap_bins ? dst->cap_bins * 2 : 4;
                dst->bins = eio_realloc(dst->bins, dst->cap_bins * sizeof(*dst->bins));
            }
            dst->bins[dst->n_bins] = eio_frame_ref(src->bins[num]);
            cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(v, "num"), (double)dst->n_bins);
            dst->n_bins++;
        }
        return;
    }
    for (cJSON *c = v->child; c; c = c->next)
        if (cJSON_IsArray(c) || cJSON_IsObject(c))
            rehome(dst, src, c);
}

cJSON *sio_args_copy_value(sio_args *dst, const sio_args *src, const cJSON *item)
{
    if (!item)
        return cJSON_CreateNull();
    cJSON *copy = cJSON_Duplicate(item, 1);
    if (src)
        rehome(dst, src, copy);
    return copy;
}

sio_args *sio_args_add(sio_args *a, cJSON *item)
{
    if (item)
        cJSON_AddItemToArray(a->array, item);
    return a;
}

sio_args *sio_args_add_string(sio_args *a, const char *s)
{
    return sio_args_add(a, sio_json_create_string(s, strlen(s)));
}

sio_args *sio_args_add_number(sio_args *a, double n)
{
    return sio_args_add(a, cJSON_CreateNumber(n));
}

cJSON *sio_args_binary_value(sio_args *a, const void *data, size_t len)
{
    if (a->n_bins == a->cap_bins) {
        a->cap_bins = a->cap_bins ? a->cap_bins * 2 : 4;
        a->bins = eio_realloc(a->bins, a->cap_bins * sizeof(*a->bins));
    }
    a->bins[a->n_bins] = eio_frame_from(data, len);
    return sio_packet_placeholder_new(a->n_bins++);
}

sio_args *sio_args_add_binary(sio_args *a, const void *data, size_t len)
{
    return sio_args_add(a, sio_args_binary_value(a, data, len));
}

size_t sio_args_count(const sio_args *a)
{
    return a ? (size_t)cJSON_GetArraySize(a->array) : 0;
}

const cJSON *sio_args_get(const sio_args *a, size_t i)
{
    return a ? cJSON_GetArrayItem(a->array, (int)i) : NULL;
}

const cJSON *sio_args_json(const sio_args *a)
{
    return a->array;
}

const uint8_t *sio_args_binary(const sio_args *a, const cJSON *item, size_t *len)
{
    long long num = sio_packet_placeholder_num(item);
    if (num < 0 || (size_t)num >= a->n_bins || !a->bins[num])
        return NULL;
    *len = a->bins[num]->len;
    return a->bins[num]->data;
}

char *sio_args_print(const sio_args *a)
{
    return sio_json_print(a->array, NULL);
}

int sio__args_prepend_event(sio_args *a, const char *event)
{
    cJSON *ev = sio_json_create_string(event, strlen(event));
    if (!cJSON_InsertItemInArray(a->array, 0, ev)) {
        /* empty array: InsertItemInArray fails on index 0 of an empty array */
        cJSON_AddItemToArray(a->array, ev);
    }
    return 0;
}

void sio__args_unprepend(sio_args *a)
{
    sio_json_delete(cJSON_DetachItemFromArray(a->array, 0));
}
