/*
 * sr_error.c: errors and the objects handed to callers.
 *
 * The last error is kept per thread (SRGetLastError is asked right after
 * the failing call, by the thread that made it). Its message is simdask's
 * own text, which names the key, the address or the model; its location is
 * the API function that failed. STATUS_ERRORS is the one table from
 * simdask's status codes to SmartRedis's error codes (docs/smartredis.md
 * repeats it).
 */
#include "sr_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SR_MESSAGE_LEN 2048
#define SR_LOCATION_LEN 128

static _Thread_local char last_message[SR_MESSAGE_LEN] = "no error";
static _Thread_local char last_location[SR_LOCATION_LEN] = "unavailable";

static const struct {
    int status;
    SRError error;
} STATUS_ERRORS[] = {
    {SD_OK, SRNoError},
    {SD_ERR_ARG, SRParameterError},       /* bad argument, name, shape, buffer, backend, device */
    {SD_ERR_CONNECTION, SRDatabaseError}, /* the store cannot be reached or is not ready */
    {SD_ERR_NOT_FOUND, SRKeyError},       /* no such tensor, dataset, list, field, model */
    {SD_ERR_FORMAT, SRRuntimeError},      /* a stored value that is not what the call reads */
    {SD_ERR_TYPE, SRTypeError},           /* another type than the stored one, or another kind of value */
    {SD_ERR_SHAPE, SRRuntimeError},       /* dims that are not the stored ones (SmartRedis: RuntimeException) */
    {SD_ERR_TIMEOUT, SRTimeoutError},     /* no answer in time */
    {SD_ERR_MODEL, SRRuntimeError},       /* a model or script run failed, or no serving loop runs it */
    {SD_ERR_NOMEM, SRBadAllocError},      /* out of memory */
    {SD_ERR_STORE, SRDatabaseError},      /* the store refused a command */
    {SD_ERR_AUTH, SRDatabaseError},       /* the store refused the password */
    {SD_ERR_CONCURRENT, SRRuntimeError},  /* a tensor overwritten while it was read: read again */
};

SRError srcompat_error_of(int sd_status)
{
    for (size_t i = 0; i < sizeof STATUS_ERRORS / sizeof STATUS_ERRORS[0]; i++)
        if (STATUS_ERRORS[i].status == sd_status) return STATUS_ERRORS[i].error;
    return SRInternalError; /* a status this layer does not know yet */
}

void srcompat_set_last_error(const char *message, const char *location)
{
    snprintf(last_message, sizeof last_message, "%s", message ? message : "");
    snprintf(last_location, sizeof last_location, "%s", location ? location : "unavailable");
}

const char *SRGetLastError(void)
{
    return last_message;
}

const char *SRGetLastErrorLocation(void)
{
    return last_location;
}

SRError sr__fail(SRError code, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    snprintf(last_location, sizeof last_location, "%s", where);
    sr__logf("SmartRedis Library", LLDebug, "%s failed: %s", where, last_message);
    return code;
}

SRError srcompat_fail_status(sd_client *c, int sd_status, const char *where)
{
    SRError code = srcompat_error_of(sd_status);
    if (code == SRInternalError)
        return sr__fail(code, where, "%s (simdask status %s)", sd_last_error(c), sd_status_name(sd_status));
    return sr__fail(code, where, "%s", sd_last_error(c));
}

SRError sr__fail_client(sr_client *c, int status, const char *where)
{
    return srcompat_fail_status(c->sd, status, where);
}

SRError sr__fail_dataset(sr_dataset *d, int status, const char *where)
{
    return sr__fail(srcompat_error_of(status), where, "%s", sd_dataset_last_error(d->sd));
}

SRError sr__check(sr_client *c, int status, const char *where)
{
    return status == SD_OK ? SRNoError : sr__fail_client(c, status, where);
}

/* ---- objects ------------------------------------------------------------------------ */

static void *object(const void *p, uint32_t magic, const char *what, const char *where)
{
    if (!p) {
        sr__fail(SRParameterError, where, "%s is NULL", what);
        return NULL;
    }
    const sr_object *o = p;
    if (o->magic != magic) {
        sr__fail(SRParameterError, where, "the pointer given as %s is no %s%s", what, what,
                 o->magic == SR_MAGIC_FREED ? " (it was freed)" : "");
        return NULL;
    }
    return (void *)p;
}

sr_client *sr__client(void *p, const char *where)
{
    return object(p, SR_MAGIC_CLIENT, "client", where);
}

sr_dataset *sr__dataset(const void *p, const char *where)
{
    return object(p, SR_MAGIC_DATASET, "dataset", where);
}

sr_config *sr__config(void *p, const char *where)
{
    return object(p, SR_MAGIC_CONFIG, "ConfigOptions object", where);
}

sd_client *srcompat_client(void *c_client)
{
    sr_client *c = sr__client(c_client, "srcompat_client");
    return c ? c->sd : NULL;
}

sd_dataset *srcompat_dataset(void *c_dataset)
{
    sr_dataset *d = sr__dataset(c_dataset, "srcompat_dataset");
    return d ? d->sd : NULL;
}

SRError sr__string(const char *p, size_t len, const char *what, const char *where, char **out)
{
    *out = NULL;
    if (!p) return sr__fail(SRParameterError, where, "%s is NULL", what);
    char *s = malloc(len + 1);
    if (!s) return sr__fail(SRBadAllocError, where, "out of memory copying %s", what);
    memcpy(s, p, len);
    s[len] = '\0';
    *out = s;
    return SRNoError;
}

int sr__keep(sr_object *o, void *p, void (*release)(void *))
{
    if (!p) return 0;
    sr_block *b = malloc(sizeof *b);
    if (!b) return -1;
    *b = (sr_block){o->blocks, p, release};
    o->blocks = b;
    return 0;
}

int sr__keep_all(sr_object *o, void *const *ptrs, size_t n)
{
    size_t i = 0;
    while (i < n && sr__keep(o, ptrs[i], NULL) == 0) i++;
    if (i == n) return 0;
    while (i < n) free(ptrs[i++]);
    return -1;
}

void sr__release_all(sr_object *o)
{
    while (o->blocks) {
        sr_block *b = o->blocks;
        o->blocks = b->next;
        if (b->release) b->release(b->p);
        else free(b->p);
        free(b);
    }
}

sr_dataset *sr__wrap_dataset(sd_dataset *sd)
{
    sr_dataset *d = calloc(1, sizeof *d);
    const char *name = sd_dataset_name(sd);
    if (d) d->obj.log_context = strdup(name ? name : "");
    if (!d || !d->obj.log_context) {
        free(d);
        return NULL;
    }
    d->obj.magic = SR_MAGIC_DATASET;
    d->sd = sd;
    return d;
}

void sr__free_dataset(sr_dataset *d)
{
    if (!d) return;
    sr__release_all(&d->obj);
    sd_dataset_free(d->sd);
    free(d->obj.log_context);
    d->obj.magic = SR_MAGIC_FREED;
    free(d);
}

const char *sr__thread_text(char *text)
{
    static _Thread_local char *held = NULL;
    free(held);
    held = text;
    return held ? held : "out of memory";
}
