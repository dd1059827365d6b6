/*
 * sr_c_check.h: checks of the SmartRedis C API test programs: each failed
 * check prints "FAIL file:line ..." with SRGetLastError() on stderr and
 * counts; main's exit status is the number of failures (capped).
 */
#ifndef SR_C_CHECK_H
#define SR_C_CHECK_H

#include <stdio.h>
#include <string.h>

#include "c_client.h"

static int failures = 0;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            failures++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

/* `call` must return `code`. */
#define EXPECT(code, call)                                                                                   \
    do {                                                                                                     \
        SRError rc_ = (call);                                                                                \
        if (rc_ != (code)) {                                                                                 \
            failures++;                                                                                      \
            fprintf(stderr, "FAIL %s:%d: %s returned %d, expected %d (%s): %s [at %s]\n", __FILE__, __LINE__, \
                    #call, (int)rc_, (int)(code), #code, SRGetLastError(), SRGetLastErrorLocation());        \
        }                                                                                                    \
    } while (0)

#define OK(call) EXPECT(SRNoError, call)

/* The last error's message must contain `text`. */
#define MSG_HAS(text) \
    CHECK(strstr(SRGetLastError(), (text)) != NULL, "message '%s' lacks '%s'", SRGetLastError(), (text))

/* Name and length, as the API takes them. */
#define N(s) (s), strlen(s)

#endif /* SR_C_CHECK_H */
