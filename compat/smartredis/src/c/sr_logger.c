/*
 * sr_logger.c: SmartRedis's logging (c_logger.h, c_logcontext.h).
 *
 * SR_LOG_LEVEL (QUIET, INFO: the default, DEBUG, DEVELOPER; any case) and
 * SR_LOG_FILE (default: standard output) are read once, at the first line
 * logged or the first client made (a client refuses values that do not
 * work; a log call without a client falls back to the defaults). Each line is
 * "<context>@<HH-MM-SS>:<text>" (warnings "WARNING: <text>", errors
 * "ERROR: <text>"), written whole under a lock; the file is opened for
 * appending for each line, so several processes can share it.
 *
 * The library itself logs at DEBUG: each client made, and each failed call
 * with its message.
 */
#include "sr_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_ready = 0;
static SRLoggingLevel log_level = LLInfo;
static char *log_file = NULL; /* NULL: standard output */

static const struct {
    const char *name;
    SRLoggingLevel level;
} LEVELS[] = {{"QUIET", LLQuiet}, {"INFO", LLInfo}, {"DEBUG", LLDebug}, {"DEVELOPER", LLDeveloper}};

/* SR_LOG_LEVEL's level; LLInvalid when it names none (unset or empty: LLInfo). */
static SRLoggingLevel level_from_env(void)
{
    const char *text = getenv("SR_LOG_LEVEL");
    if (!text || !*text) return LLInfo;
    for (size_t i = 0; i < sizeof LEVELS / sizeof LEVELS[0]; i++)
        if (strcasecmp(text, LEVELS[i].name) == 0) return LEVELS[i].level;
    return LLInvalid;
}

/* Whether SR_LOG_FILE (when set) can be opened for appending. */
static int file_writable(const char *path)
{
    FILE *f = fopen(path, "a");
    if (!f) return 0;
    fclose(f);
    return 1;
}

/* With log_lock held: the settings from the environment, once (defaults for what does not work). */
static void configure_locked(void)
{
    if (log_ready) return;
    log_ready = 1;
    SRLoggingLevel level = level_from_env();
    log_level = level == LLInvalid ? LLInfo : level;
    const char *path = getenv("SR_LOG_FILE");
    if (path && *path && file_writable(path)) log_file = strdup(path);
}

SRError sr__logging_check(const char *where)
{
    if (level_from_env() == LLInvalid)
        return sr__fail(SRParameterError, where, "SR_LOG_LEVEL='%.100s' is no logging level (QUIET, INFO, DEBUG, "
                        "DEVELOPER)", getenv("SR_LOG_LEVEL"));
    const char *path = getenv("SR_LOG_FILE");
    if (path && *path && !file_writable(path))
        return sr__fail(SRParameterError, where, "SR_LOG_FILE='%.200s' cannot be opened for appending", path);
    pthread_mutex_lock(&log_lock);
    configure_locked();
    pthread_mutex_unlock(&log_lock);
    return SRNoError;
}

void sr__log(const char *context, SRLoggingLevel level, const char *kind, const char *text, size_t len)
{
    if (!text || level <= LLQuiet) return;
    pthread_mutex_lock(&log_lock);
    configure_locked();
    if (level <= log_level) {
        char stamp[16];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%H-%M-%S", &tm);
        FILE *f = log_file ? fopen(log_file, "a") : stdout;
        if (!f) f = stdout; /* the file went away: the line is not lost */
        fprintf(f, "%s@%s:%s%.*s\n", context ? context : "", stamp, kind, (int)len, text);
        if (f != stdout) fclose(f);
        else fflush(f);
    }
    pthread_mutex_unlock(&log_lock);
}

void sr__logf(const char *context, SRLoggingLevel level, const char *fmt, ...)
{
    char text[2304];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n >= 0) sr__log(context, level, "", text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

/* ---- c_logger.h --------------------------------------------------------------------- */

/* The log context of a client, dataset, ConfigOptions or LogContext; NULL for anything else. */
static const char *object_context(const void *p)
{
    const sr_object *o = p;
    if (!o) return NULL;
    switch (o->magic) {
    case SR_MAGIC_CLIENT:
    case SR_MAGIC_DATASET:
    case SR_MAGIC_CONFIG:
    case SR_MAGIC_LOGCTX: return o->log_context;
    default: return NULL;
    }
}

static void log_object(const void *context, SRLoggingLevel level, const char *kind, const char *data, size_t len)
{
    const char *name = object_context(context);
    if (name) sr__log(name, level, kind, data, len);
}

static void log_named(const char *context, size_t context_len, SRLoggingLevel level, const char *kind,
                      const char *data, size_t len)
{
    char name[256];
    if (!context) return;
    snprintf(name, sizeof name, "%.*s", (int)(context_len < sizeof name ? context_len : sizeof name - 1), context);
    sr__log(name, level, kind, data, len);
}

void log_data_noexcept(const void *context, SRLoggingLevel level, const char *data, size_t data_len)
{
    log_object(context, level, "", data, data_len);
}

void log_warning_noexcept(const void *context, SRLoggingLevel level, const char *data, size_t data_len)
{
    log_object(context, level, "WARNING: ", data, data_len);
}

void log_error_noexcept(const void *context, SRLoggingLevel level, const char *data, size_t data_len)
{
    log_object(context, level, "ERROR: ", data, data_len);
}

void log_data_noexcept_string(const char *context, size_t context_len, SRLoggingLevel level, const char *data,
                              size_t data_len)
{
    log_named(context, context_len, level, "", data, data_len);
}

void log_warning_noexcept_string(const char *context, size_t context_len, SRLoggingLevel level, const char *data,
                                 size_t data_len)
{
    log_named(context, context_len, level, "WARNING: ", data, data_len);
}

void log_error_noexcept_string(const char *context, size_t context_len, SRLoggingLevel level, const char *data,
                               size_t data_len)
{
    log_named(context, context_len, level, "ERROR: ", data, data_len);
}

/* ---- c_logcontext.h ----------------------------------------------------------------- */

SRError SmartRedisCLogContext(const char *context, const size_t context_length, void **new_logcontext)
{
    static const char WHERE[] = "SmartRedisCLogContext";
    if (!new_logcontext) return sr__fail(SRParameterError, WHERE, "new_logcontext is NULL");
    *new_logcontext = NULL;
    char *name;
    SRError rc = sr__string(context, context_length, "context", WHERE, &name);
    if (rc != SRNoError) return rc;
    sr_logctx *l = calloc(1, sizeof *l);
    if (!l) {
        free(name);
        return sr__fail(SRBadAllocError, WHERE, "out of memory");
    }
    l->obj.magic = SR_MAGIC_LOGCTX;
    l->obj.log_context = name;
    *new_logcontext = l;
    return SRNoError;
}

SRError DeallocateLogContext(void **logcontext)
{
    static const char WHERE[] = "DeallocateLogContext";
    if (!logcontext) return sr__fail(SRParameterError, WHERE, "logcontext is NULL");
    sr_logctx *l = *logcontext;
    if (!l) return SRNoError;
    if (l->obj.magic != SR_MAGIC_LOGCTX) return sr__fail(SRParameterError, WHERE, "the pointer is no LogContext");
    free(l->obj.log_context);
    l->obj.magic = SR_MAGIC_FREED;
    free(l);
    *logcontext = NULL;
    return SRNoError;
}
