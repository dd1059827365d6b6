/*
 * error.c: errors, kept per context (a client or a dataset, never process
 * wide), the names of the status codes, and the one table that turns a
 * server's error reply into a status.
 *
 * The table is the Python client's simdask.errors.REPLY_ERRORS, entry for
 * entry and in the same order (docs/protocol.md, "Errors"; a test compares
 * them): a reply matches an entry when it is the prefix or starts with the
 * prefix and a space; a reply that matches none is SD_ERR_STORE.
 */
#include "sd_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct reply_status {
    const char *prefix;
    int status;
} REPLY_ERRORS[] = {
    {"OOM", SD_ERR_STORE},
    {"WRONGTYPE", SD_ERR_TYPE},
    {"NOAUTH", SD_ERR_AUTH},
    {"WRONGPASS", SD_ERR_AUTH},
    {"NOPERM", SD_ERR_AUTH},
    {"ERR AUTH", SD_ERR_AUTH},
    {"CLUSTERDOWN", SD_ERR_CONNECTION},
    {"LOADING", SD_ERR_CONNECTION},
    {"MASTERDOWN", SD_ERR_CONNECTION},
    {"TRYAGAIN", SD_ERR_CONNECTION},
};

#define NAME(status) [status] = #status
static const char *const STATUS_NAMES[] = {
    NAME(SD_OK),         NAME(SD_ERR_ARG),   NAME(SD_ERR_CONNECTION), NAME(SD_ERR_NOT_FOUND),
    NAME(SD_ERR_FORMAT), NAME(SD_ERR_TYPE),  NAME(SD_ERR_SHAPE),      NAME(SD_ERR_TIMEOUT),
    NAME(SD_ERR_MODEL),  NAME(SD_ERR_NOMEM), NAME(SD_ERR_STORE),      NAME(SD_ERR_AUTH),
    NAME(SD_ERR_CONCURRENT),
};
#undef NAME

static void set_error(int *err, char *errstr, size_t size, int code, const char *fmt, va_list ap)
{
    *err = code;
    vsnprintf(errstr, size, fmt, ap);
}

int sd__fail(sd_client *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(&c->err, c->errstr, sizeof c->errstr, code, fmt, ap);
    va_end(ap);
    return code;
}

void sd__fail_context(sd_client *c, const char *doing, const char *name)
{
    size_t used = strlen(c->errstr);
    snprintf(c->errstr + used, sizeof c->errstr - used, " (%s '%.200s')", doing, name);
}

int sd__ds_fail(sd_dataset *ds, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(&ds->err, ds->errstr, sizeof ds->errstr, code, fmt, ap);
    va_end(ap);
    return code;
}

void sd__clear(sd_client *c)
{
    c->err = SD_OK;
    c->errstr[0] = '\0';
}

int sd__reply_is(const char *reply, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(reply, prefix, n) == 0 && (reply[n] == '\0' || reply[n] == ' ');
}

int sd__reply_status(const char *reply)
{
    for (size_t i = 0; i < sizeof REPLY_ERRORS / sizeof REPLY_ERRORS[0]; i++)
        if (sd__reply_is(reply, REPLY_ERRORS[i].prefix)) return REPLY_ERRORS[i].status;
    return SD_ERR_STORE;
}

int sd__fail_reply(sd_client *c, const char *doing, const char *name, const char *reply)
{
    return sd__fail(c, sd__reply_status(reply), "the store refused %s '%.200s': %.400s", doing, name, reply);
}

const char *sd_last_error(const sd_client *c)
{
    if (!c) return "no client (NULL): sd_client_new was not called, or failed out of memory";
    return c->errstr;
}

int sd_last_status(const sd_client *c)
{
    return c ? c->err : SD_ERR_ARG;
}

const char *sd_dataset_last_error(const sd_dataset *ds)
{
    return ds ? ds->errstr : "no dataset (NULL)";
}

const char *sd_status_name(int status)
{
    if (status < 0 || (size_t)status >= sizeof STATUS_NAMES / sizeof STATUS_NAMES[0]) return "unknown status";
    return STATUS_NAMES[status];
}
