/*
 * srv_log: leveled, timestamped log lines on stderr.
 * Threading: any thread; one write(2) per line keeps lines whole. The level is
 * read and set atomically.
 * Ownership: nothing kept.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "server/srv.h"

static int log_level = SRV_LOG_INFO;

void srv_set_log_level(int level)
{
    __atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

int srv_log_level_from_name(const char *name)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return SRV_LOG_INFO;
}

static void vlog(int level, const char *fmt, va_list ap)
{
    if (level > __atomic_load_n(&log_level, __ATOMIC_RELAXED))
        return;
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char line[1024];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof(line) - (size_t)n, ".%03dZ %s: ", (int)(tv.tv_usec / 1000),
                  names[level < 0   ? 0
                        : level > 3 ? 3
                                    : level]);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    n = m < 0 ? n : n + m >= (int)sizeof(line) - 1 ? (int)sizeof(line) - 2 : n + m;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void srv_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void srv_engine_log(int level, const char *message, void *user_data)
{
    (void)user_data;
    srv_log(level, "%s", message);
}
