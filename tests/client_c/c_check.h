/*
 * c_check.h: what the C client's test programs (c_tests.c, c_faults.c) share:
 * checks that count failures and print "FAIL file:line ..." on stderr, and
 * the connection and the stdin handshake of cases the Python side drives.
 */
#ifndef C_CHECK_H
#define C_CHECK_H

#include <simdask.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            failures++;                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

/* `call` must return `code`; prints the client's message otherwise. */
#define EXPECT(c, code, call)                                                                      \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != (code)) {                                                                       \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: %s returned %s, expected %s: %s\n", __FILE__, __LINE__,   \
                    #call, sd_status_name(rc_), sd_status_name(code), sd_last_error(c));            \
        }                                                                                          \
    } while (0)

#define OK(c, call) EXPECT(c, SD_OK, call)

/* The last error message must contain `text`. */
#define MSG_HAS(c, text) CHECK(strstr(sd_last_error(c), (text)) != NULL, "message '%s' lacks '%s'", sd_last_error(c), (text))

static inline sd_client *connect_env(void)
{
    sd_client *c = NULL;
    int rc = sd_client_new(&c, NULL);
    if (rc != SD_OK) {
        fprintf(stderr, "FAIL cannot connect (%s): %s\n", sd_status_name(rc), sd_last_error(c));
        exit(100);
    }
    return c;
}

static inline void wait_line(const char *say)
{
    char line[256];
    printf("%s\n", say);
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) {
        fprintf(stderr, "FAIL no line on stdin after %s\n", say);
        exit(101);
    }
}

#endif /* C_CHECK_H */
