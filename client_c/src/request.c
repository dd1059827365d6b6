/*
 * request.c: run a model or script through the inference service with the
 * language-neutral protocol of DESIGN.md ("Inference requests"):
 *
 *   XADD simdask:requests * model <name> inputs <json keys> outputs <json keys> reply <reply key>
 *   (or: script <name> function <fn> ...), then BLPOP <reply key> <timeout>
 *
 * and the reply is "OK" or "ERR <message>". In a cluster the stream and the
 * reply key are each routed by their own slot.
 */
#include "sd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUEST_STREAM "simdask:requests"
#define REPLY_PREFIX "simdask:reply:"

static void free_keys(char **keys, size_t n)
{
    if (!keys) return;
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
}

static int make_keys(sd_client *c, const char *what, int write, size_t n, const char *const *names, char ***out)
{
    *out = NULL;
    if (n > 0 && !names) return sd__fail(c, SD_ERR_ARG, "%s is NULL", what);
    char **keys = calloc(n ? n : 1, sizeof *keys);
    if (!keys) return sd__fail(c, SD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = sd__check_name(c, what, names[i]);
        if (rc == SD_OK) rc = sd__key(c, write, names[i], &keys[i]);
        if (rc != SD_OK) {
            free_keys(keys, i);
            return rc;
        }
    }
    *out = keys;
    return SD_OK;
}

static int run_request(sd_client *c, const char *kind, const char *name, const char *function, size_t n_inputs,
                       const char *const *inputs, size_t n_outputs, const char *const *outputs, int timeout_ms)
{
    char **in_keys = NULL, **out_keys = NULL, *in_json = NULL, *out_json = NULL;
    size_t in_len = 0, out_len = 0;
    redisReply *r = NULL;
    int rc = sd__check_name(c, strcmp(kind, "model") == 0 ? "model name" : "script name", name);
    if (rc != SD_OK) return rc;
    if (function && (rc = sd__check_name(c, "function name", function)) != SD_OK) return rc;
    if ((rc = make_keys(c, "input name", 0, n_inputs, inputs, &in_keys)) != SD_OK) goto done;
    if ((rc = make_keys(c, "output name", 1, n_outputs, outputs, &out_keys)) != SD_OK) goto done;
    if (sd__json_encode_strings(in_keys, n_inputs, &in_json, &in_len) != 0 ||
        sd__json_encode_strings(out_keys, n_outputs, &out_json, &out_len) != 0) {
        rc = sd__fail(c, SD_ERR_NOMEM, "out of memory");
        goto done;
    }
    unsigned char id[16];
    char reply_key[sizeof REPLY_PREFIX + 32];
    if (sd__random_bytes(id, sizeof id) != 0) {
        rc = sd__fail(c, SD_ERR_STORE, "no random bytes for a reply key");
        goto done;
    }
    memcpy(reply_key, REPLY_PREFIX, sizeof REPLY_PREFIX - 1);
    sd__hex(reply_key + sizeof REPLY_PREFIX - 1, id, sizeof id);

    const char *argv[13];
    size_t lens[13];
    int argc = 0;
#define ARG(s, l) (argv[argc] = (s), lens[argc] = (l), argc++)
    ARG("XADD", 4);
    ARG(REQUEST_STREAM, sizeof REQUEST_STREAM - 1);
    ARG("*", 1);
    ARG(kind, strlen(kind));
    ARG(name, strlen(name));
    if (function) {
        ARG("function", 8);
        ARG(function, strlen(function));
    }
    ARG("inputs", 6);
    ARG(in_json, in_len);
    ARG("outputs", 7);
    ARG(out_json, out_len);
    ARG("reply", 5);
    ARG(reply_key, strlen(reply_key));
#undef ARG
    char doing[300];
    snprintf(doing, sizeof doing, "the run request for %s '%.200s'", kind, name);
    if ((rc = sd__command_ok(c, doing, REQUEST_STREAM, argc, argv, lens, NULL)) != SD_OK) goto done;

    int wait = timeout_ms == 0 ? c->run_timeout_ms : timeout_ms;
    char secs[32];
    if (wait < 0)
        snprintf(secs, sizeof secs, "0");
    else
        snprintf(secs, sizeof secs, "%d.%03d", wait / 1000, wait % 1000);
    sd_node *n = NULL;
    if ((rc = sd__route(c, reply_key, strlen(reply_key), &n)) != SD_OK) goto done;
    if ((rc = sd__conn_ready(c, n)) != SD_OK) goto done;
    if (c->io_timeout_ms > 0) /* the socket must outlast the blocking pop */
        sd__conn_set_read_timeout(c, n, wait < 0 ? 0 : wait + c->io_timeout_ms);
    const char *pop[3] = {"BLPOP", reply_key, secs};
    rc = sd__command_ok(c, doing, reply_key, 3, pop, NULL, &r);
    if (c->io_timeout_ms > 0) sd__conn_set_read_timeout(c, n, c->io_timeout_ms);
    if (rc != SD_OK) goto done;
    if (r->type == REDIS_REPLY_NIL) {
        rc = sd__fail(c, SD_ERR_TIMEOUT, "no reply from the inference service for %s '%s' within %d ms (reply key %s)",
                      kind, name, wait, reply_key);
        goto done;
    }
    const redisReply *v = r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? r->element[1] : NULL;
    if (v && v->type == REDIS_REPLY_STRING && v->len == 2 && memcmp(v->str, "OK", 2) == 0) {
        rc = SD_OK;
    } else if (v && v->type == REDIS_REPLY_STRING && v->len >= 3 && memcmp(v->str, "ERR", 3) == 0) {
        const char *msg = v->str + 3;
        while (*msg == ' ') msg++;
        rc = sd__fail(c, SD_ERR_MODEL, "%s '%s' failed: %.700s", kind, name, msg);
    } else {
        rc = sd__fail(c, SD_ERR_MODEL, "unexpected reply from the inference service for %s '%s': %.200s", kind, name,
                      v && v->type == REDIS_REPLY_STRING ? v->str : "(not a string)");
    }
done:
    if (r) freeReplyObject(r);
    free_keys(in_keys, n_inputs);
    free_keys(out_keys, n_outputs);
    free(in_json);
    free(out_json);
    return rc;
}

int sd_run_model(sd_client *c, const char *model, size_t n_inputs, const char *const *inputs, size_t n_outputs,
                 const char *const *outputs, int timeout_ms)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    return run_request(c, "model", model, NULL, n_inputs, inputs, n_outputs, outputs, timeout_ms);
}

int sd_run_script(sd_client *c, const char *script, const char *function, size_t n_inputs, const char *const *inputs,
                  size_t n_outputs, const char *const *outputs, int timeout_ms)
{
    if (!c) return SD_ERR_ARG;
    sd__clear(c);
    if (!function) return sd__fail(c, SD_ERR_ARG, "function name is NULL");
    return run_request(c, "script", script, function, n_inputs, inputs, n_outputs, outputs, timeout_ms);
}
