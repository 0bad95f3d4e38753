/*
 * clu_internal: what the cluster adapters expose to their fuzz driver
 * (test/fuzz/fuzz_clu_message.c) and to nothing else; not installed (make
 * install leaves out *_internal.h).
 *
 * Threading: engine lock held, as every adapter call.
 * Ownership: the reply is borrowed for the call.
 */
#ifndef CLU_INTERNAL_H
#define CLU_INTERNAL_H

#include <hiredis/hiredis.h>

#include "cluster/clu.h"

/* Takes reply as if the subscriber connection had read it from Redis: a
 * subscribe confirmation is ignored; a "message", "pmessage" or "smessage" on
 * a channel of one of c's namespaces is decoded (JSON or notepack) and
 * applied (a broadcast delivered, a request answered, a response matched),
 * and anything malformed is dropped with a log line. */
void clu__on_push(clu_cluster *c, const redisReply *reply);

#endif
