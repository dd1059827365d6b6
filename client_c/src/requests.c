/*
 * requests.c: run a model or script through the inference service with the
 * language-neutral protocol of docs/protocol.md ("Run requests"):
 *
 *   EVAL SUBMIT 5 simdask:loops:{simdask:requests} simdask:requests <reply key>
 *        simdask:node-loops:{simdask:requests}:<node> simdask:node-requests:{simdask:requests}:<node>
 *        300 <message> model <name> inputs <json keys> outputs <json keys> reply <reply key>
 *   (or: script <name> function <fn> ...), then BLPOP <reply key> <timeout>
 *
 * and the reply is "OK" or "ERR <message>". SUBMIT (scripts.c) appends the
 * request to the node's stream when a serving loop of the client's node
 * holds a lease, else to the main stream when any loop does, else pushes
 * "ERR <message>" (no inference service: what to start) to the reply key
 * itself, so BLPOP returns at once. A client on no node (sd_options.node
 * "") sends the first three keys only: any loop. The reply key carries the stream's hash
 * tag: in a cluster every key of both commands is on one node. The run's
 * deadline covers the whole call: looking up the runs of the keys' groups
 * (runs.c), the EVAL, whose reply must come by then, and BLPOP, which gets
 * what is left (the store answers nil then), and the socket waits
 * RUN_REPLY_GRACE_MS more for that answer, so a store that never answers
 * ends the call then. Neither command is sent again once it may have
 * reached the store: a second SUBMIT would run the model twice, a second
 * BLPOP lose the answer.
 */
#include "sd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REQUEST_STREAM "simdask:requests"
#define LOOPS_KEY "simdask:loops:{simdask:requests}"
#define REPLY_PREFIX "simdask:reply:{simdask:requests}:"
#define NODE_LOOPS_PREFIX "simdask:node-loops:{simdask:requests}:"
#define NODE_STREAM_PREFIX "simdask:node-requests:{simdask:requests}:"
#define REPLY_TTL_S "300"
#define RUN_REPLY_GRACE_MS 500 /* the socket waits this much longer than BLPOP */

static char *joined(const char *prefix, const char *node)
{
    size_t a = strlen(prefix), b = strlen(node);
    char *out = malloc(a + b + 1);
    if (out) {
        memcpy(out, prefix, a);
        memcpy(out + a, node, b + 1);
    }
    return out;
}

int sd__requests_init(sd_client *c, const char *node)
{
    char host[256];
    if (node && !*node) return SD_OK; /* "": on no node, requests go to any loop */
    if (!node) node = getenv("SIMDASK_NODE");
    if (!node || !*node) { /* the host name up to its first dot (locality.py's node_name) */
        if (gethostname(host, sizeof host) != 0) return SD_OK;
        host[sizeof host - 1] = '\0';
        host[strcspn(host, ".")] = '\0';
        node = host;
    }
    c->node_loops = joined(NODE_LOOPS_PREFIX, node);
    c->node_stream = joined(NODE_STREAM_PREFIX, node);
    if (!c->node_loops || !c->node_stream) return sd__fail(c, SD_ERR_NOMEM, "out of memory creating a client");
    return SD_OK;
}

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
        int rc = sd__key(c, what, write, names[i], &keys[i]);
        if (rc != SD_OK) {
            free_keys(keys, i);
            return rc;
        }
    }
    *out = keys;
    return SD_OK;
}

/* What a run request says (docs/protocol.md): its stream fields, where the answer goes, and what SUBMIT
 * answers when no serving loop is alive (the same text as the Python client's no_service_message). */
typedef struct run_req {
    const char *kind, *name, *function; /* function: scripts only */
    const char *node_loops, *node_stream; /* NULL: the client is on no node */
    char *in_json, *out_json;
    size_t in_len, out_len;
    char reply_key[sizeof REPLY_PREFIX + 32];
    char no_service[512];
} run_req;

static void build_submit(sd_pipe *p, const void *ctx, size_t i)
{
    const run_req *q = ctx;
    (void)i;
    sd__pipe_begin(p, (q->function ? 18 : 16) + (q->node_loops ? 2 : 0));
    sd__pipe_arg(p, "EVAL", 4);
    sd__pipe_arg(p, sd__submit_script, sd__submit_script_len);
    sd__pipe_arg(p, q->node_loops ? "5" : "3", 1);
    sd__pipe_argz(p, LOOPS_KEY);
    sd__pipe_argz(p, REQUEST_STREAM);
    sd__pipe_argz(p, q->reply_key);
    if (q->node_loops) {
        sd__pipe_argz(p, q->node_loops);
        sd__pipe_argz(p, q->node_stream);
    }
    sd__pipe_argz(p, REPLY_TTL_S);
    sd__pipe_argz(p, q->no_service);
    sd__pipe_argz(p, q->kind);
    sd__pipe_argz(p, q->name);
    if (q->function) {
        sd__pipe_arg(p, "function", 8);
        sd__pipe_argz(p, q->function);
    }
    sd__pipe_arg(p, "inputs", 6);
    sd__pipe_arg(p, q->in_json, q->in_len);
    sd__pipe_arg(p, "outputs", 7);
    sd__pipe_arg(p, q->out_json, q->out_len);
    sd__pipe_arg(p, "reply", 5);
    sd__pipe_argz(p, q->reply_key);
}

/* The answer pushed to the reply key: "OK" or "ERR <message>". */
static int answer(sd_client *c, const run_req *q, const redisReply *r, int wait)
{
    if (r->type == REDIS_REPLY_NIL)
        return sd__fail(c, SD_ERR_TIMEOUT,
                        "no reply from the inference service for %s '%s' within %d ms (reply key %s)", q->kind,
                        q->name, wait, q->reply_key);
    const redisReply *v = r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? r->element[1] : NULL;
    if (v && v->type == REDIS_REPLY_STRING && v->len == 2 && memcmp(v->str, "OK", 2) == 0) return SD_OK;
    if (v && v->type == REDIS_REPLY_STRING && v->len >= 3 && memcmp(v->str, "ERR", 3) == 0) {
        const char *msg = v->str + 3;
        while (*msg == ' ') msg++;
        return sd__fail(c, SD_ERR_MODEL, "%s '%s' failed: %.700s", q->kind, q->name, msg);
    }
    return sd__fail(c, SD_ERR_MODEL, "unexpected reply from the inference service for %s '%s': %.200s", q->kind,
                    q->name, v && v->type == REDIS_REPLY_STRING ? v->str : "(not a string)");
}

/* BLPOP's timeout in seconds: what is left until the deadline (0: none,
 * which BLPOP takes as forever), at least 1 ms, so never 0. */
static void pop_seconds(char *out, size_t n, int64_t deadline)
{
    int64_t left = deadline ? deadline - sd__now_ms() : 0;
    if (!deadline)
        snprintf(out, n, "0");
    else
        snprintf(out, n, "%lld.%03d", (long long)(left > 0 ? left / 1000 : 0), left > 0 ? (int)(left % 1000) : 1);
}

/* Sends the request, then blocks on its reply key (BLPOP) until the
 * deadline, `wait` ms after the start (0: no limit). */
static int send_and_wait(sd_client *c, run_req *q, int wait, int64_t deadline)
{
    char secs[32];
    sd_request submit = {.doing = "sending the run request for", .name = q->name, .route_key = REQUEST_STREAM,
                         .n = 1, .build = build_submit, .ctx = q, .resend = SD_RESEND_UNSENT, .deadline = deadline};
    int rc = sd__exec(c, &submit);
    if (rc != SD_OK) return rc;
    pop_seconds(secs, sizeof secs, deadline);
    const char *argv[3] = {"BLPOP", q->reply_key, secs};
    sd_argv pop = {3, argv, NULL};
    sd_request blpop = {.doing = "waiting for the run of", .name = q->name, .route_key = q->reply_key, .n = 1,
                        .build = sd__build_argv, .ctx = &pop, .keep_last = 1, .resend = SD_RESEND_UNSENT,
                        .long_wait = 1, .deadline = deadline ? deadline + RUN_REPLY_GRACE_MS : 0};
    if ((rc = sd__exec(c, &blpop)) != SD_OK) return rc;
    rc = answer(c, q, blpop.reply, wait);
    freeReplyObject(blpop.reply);
    return rc;
}

static int run_request(sd_client *c, const char *kind, const char *name, const char *function, size_t n_inputs,
                       const char *const *inputs, size_t n_outputs, const char *const *outputs, int timeout_ms)
{
    char **in_keys = NULL, **out_keys = NULL, *stored = NULL;
    run_req q = {.kind = kind, .name = name, .function = function, .node_loops = c->node_loops,
                 .node_stream = c->node_stream};
    unsigned char id[16];
    int wait = timeout_ms == 0 ? c->run_timeout_ms : timeout_ms;
    int64_t deadline = wait < 0 ? 0 : sd__now_ms() + wait, saved_until = c->until;
    /* the stored name: with the read prefix when model prefixes are on (use_model_ensemble_prefix) */
    int rc = sd__model_name(c, strcmp(kind, "model") == 0 ? "model name" : "script name", 0, name, &stored);
    if (rc == SD_OK) q.name = stored;
    if (rc == SD_OK && function) rc = sd__check_name(c, "function name", function);
    c->until = deadline; /* the run lookups of the keys keep to the deadline (runs.c) */
    if (rc == SD_OK) rc = make_keys(c, "input name", 0, n_inputs, inputs, &in_keys);
    if (rc == SD_OK) rc = make_keys(c, "output name", 1, n_outputs, outputs, &out_keys);
    c->until = saved_until;
    if (rc == SD_ERR_TIMEOUT || rc == SD_ERR_CONNECTION) /* a run lookup: say what the call was */
        sd__fail_context(c, strcmp(kind, "model") == 0 ? "running model" : "running script", name);
    if (rc == SD_OK && (sd__json_encode_strings(in_keys, n_inputs, &q.in_json, &q.in_len) != 0 ||
                        sd__json_encode_strings(out_keys, n_outputs, &q.out_json, &q.out_len) != 0))
        rc = sd__fail(c, SD_ERR_NOMEM, "out of memory");
    if (rc == SD_OK && sd__random_bytes(id, sizeof id) != 0)
        rc = sd__fail(c, SD_ERR_STORE, "no random bytes for a reply key");
    if (rc == SD_OK) {
        memcpy(q.reply_key, REPLY_PREFIX, sizeof REPLY_PREFIX - 1);
        sd__hex(q.reply_key + sizeof REPLY_PREFIX - 1, id, sizeof id);
        snprintf(q.no_service, sizeof q.no_service,
                 "no inference service is serving the store at %.200s (no serving loop is running): start one "
                 "with `simdask serve`, simdask.InferenceServer, or a store that runs its own "
                 "(simdask.Store(serve=N), `simdask store start --serve N`)",
                 c->nodes[0]->label);
        rc = send_and_wait(c, &q, wait, deadline);
    }
    free_keys(in_keys, n_inputs);
    free_keys(out_keys, n_outputs);
    free(stored);
    free(q.in_json);
    free(q.out_json);
    return rc;
}

int sd_run_model(sd_client *c, const char *model, size_t n_inputs, const char *const *inputs, size_t n_outputs,
                 const char *const *outputs, int timeout_ms)
{
    SD_ENTER(c);
    return run_request(c, "model", model, NULL, n_inputs, inputs, n_outputs, outputs, timeout_ms);
}

int sd_run_script(sd_client *c, const char *script, const char *function, size_t n_inputs, const char *const *inputs,
                  size_t n_outputs, const char *const *outputs, int timeout_ms)
{
    SD_ENTER(c);
    if (!function) return sd__fail(c, SD_ERR_ARG, "function name is NULL");
    return run_request(c, "script", script, function, n_inputs, inputs, n_outputs, outputs, timeout_ms);
}
