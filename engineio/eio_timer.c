/*
 * eio_timer: a binary min-heap of timers, ordered by deadline. O(log n) arm,
 * re-arm and cancel; each timer remembers its place in the heap.
 * Threading: a heap belongs to one engine and is used with its lock held.
 * Ownership: timers are embedded in their owners; the heap only points to them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "eio_internal.h"

uint64_t eio__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void eio__timer_init(eio__timer *t, void (*fire)(eio__timer *))
{
    t->deadline_ms = 0;
    t->heap_index = SIZE_MAX;
    t->fire = fire;
}

int eio__timer_armed(const eio__timer *t)
{
    return t->heap_index != SIZE_MAX;
}

static void heap_place(eio__timer_heap *h, size_t i, eio__timer *t)
{
    h->items[i] = t;
    t->heap_index = i;
}

static void sift_up(eio__timer_heap *h, size_t i)
{
    eio__timer *t = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->deadline_ms <= t->deadline_ms)
            break;
        heap_place(h, i, h->items[parent]);
        i = parent;
    }
    heap_place(h, i, t);
}

static void sift_down(eio__timer_heap *h, size_t i)
{
    eio__timer *t = h->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && h->items[child + 1]->deadline_ms < h->items[child]->deadline_ms)
            child++;
        if (h->items[child]->deadline_ms >= t->deadline_ms)
            break;
        heap_place(h, i, h->items[child]);
        i = child;
    }
    heap_place(h, i, t);
}

void eio__heap_cancel(eio__timer_heap *h, eio__timer *t)
{
    if (!eio__timer_armed(t))
        return;
    size_t i = t->heap_index;
    t->heap_index = SIZE_MAX;
    h->len--;
    if (i == h->len)
        return;
    eio__timer *moved = h->items[h->len];
    heap_place(h, i, moved);
    sift_up(h, i);
    sift_down(h, moved->heap_index);
}

void eio__heap_set(eio__timer_heap *h, eio__timer *t, uint64_t deadline_ms)
{
    eio__heap_cancel(h, t);
    if (h->len == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->items = eio_realloc(h->items, h->cap * sizeof(*h->items));
    }
    t->deadline_ms = deadline_ms;
    heap_place(h, h->len, t);
    h->len++;
    sift_up(h, t->heap_index);
}

eio__timer *eio__heap_top(const eio__timer_heap *h)
{
    return h->len ? h->items[0] : NULL;
}

void eio__heap_free(eio__timer_heap *h)
{
    for (size_t i = 0; i < h->len; i++)
        h->items[i]->heap_index = SIZE_MAX;
    free(h->items);
    h->items = NULL;
    h->len = h->cap = 0;
}
