/*
 * poll.c: waiting. The one poll loop behind every sd_poll_* (SmartRedis's
 * semantics, as the Python client's polling module: up to `tries` checks,
 * `interval_ms` apart, no sleep after the last; each check is one request,
 * so its reply falls under the I/O timeout), the sleep it and exec.c's
 * backoffs use, and the monotonic clock deadlines are measured on.
 */
#include "sd_internal.h"

#include <errno.h>
#include <time.h>

void sd__sleep_ms(int ms)
{
    struct timespec ts;
    if (ms <= 0) return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int64_t sd__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sd__poll(sd_client *c, int interval_ms, int tries, sd_check_fn check, void *ctx, int *reached)
{
    if (!reached) return sd__fail(c, SD_ERR_ARG, "the result pointer of the poll is NULL");
    *reached = 0;
    if (interval_ms < 0 || tries < 1)
        return sd__fail(c, SD_ERR_ARG, "poll needs interval_ms >= 0 and tries >= 1 (got %d, %d)", interval_ms, tries);
    for (int i = 0; i < tries; i++) {
        int rc = check(c, ctx, reached);
        if (rc != SD_OK || *reached) return rc;
        if (i + 1 < tries) sd__sleep_ms(interval_ms);
    }
    return SD_OK;
}
