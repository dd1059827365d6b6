/*
 * runs.c: runs (docs/protocol.md, "Runs"): which run of its group this client
 * writes in, and which run of a group it reads.
 *
 * The writer identity comes from the environment when the client is created
 * (SIMDASK_RUN_ID, else Open MPI's mpirun, else Slurm's srun) or from
 * sd_begin_run. An environment run begins at the client's first write or
 * delete (keys.c asks sd__run_prefix for every key) or sd_end_run, with EVAL
 * BEGIN_RUN; a read never begins one. Its heartbeat is set again at most
 * every quarter lease, on writes; sd_end_run and sd_client_free send END_RUN.
 * Reads of the client's own group use its own run once it has begun; reads
 * of any other group (or of its own before its run begins, or without one)
 * use the group's current run (HGET R current), resolved the first time and
 * kept until sd_set_data_source: a reader is never switched between runs
 * mid-work; only a group that had no run is looked up again, when a read of
 * it finds nothing (sd__run_refresh: keys.c's fallbacks), and its run is then
 * kept the same way. keys.c falls back to the plain key when a run-scoped one
 * is missing.
 */
#include "sd_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char REGISTRY_NS[] = "simdask:{runs:";

/* ---- the writer identity from the environment ------------------------------------ */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* A whole number >= min from the variable: 1 set (in *out), 0 unset, -1 not a number (the client failed). */
static int env_int(sd_client *c, const char *name, int min, int *out)
{
    const char *text = env(name);
    if (!text) return 0;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\n') end++;
    if (end == text || *end || errno || v < min || v > INT_MAX) {
        sd__fail(c, SD_ERR_ARG, "%s='%.100s' is not a whole number >= %d", name, text, min);
        return -1;
    }
    *out = (int)v;
    return 1;
}

/* Rank and task count from a launcher's variables (size_var2: when size_var is unset; unset: 0 of 1). */
static int rank_size(sd_client *c, const char *rank_var, const char *size_var, const char *size_var2, int *rank,
                     int *size)
{
    *rank = 0;
    *size = 1;
    int s = env_int(c, size_var, 1, size);
    if (s == 0 && size_var2) s = env_int(c, size_var2, 1, size);
    return s < 0 || env_int(c, rank_var, 0, rank) < 0 ? -1 : 1;
}

/* The run of an MPI or Slurm launch (docs/protocol.md, rules 2-3): its id (in id[n]), this process's rank and
 * the task count; 1 found, 0 none, -1 a variable does not parse. */
static int launcher(sd_client *c, char *id, size_t n, int *rank, int *size)
{
    const char *ns = env("PMIX_NAMESPACE") ? env("PMIX_NAMESPACE") : env("OMPI_MCA_ess_base_jobid");
    const char *job = env("SLURM_JOB_ID"), *step = env("SLURM_STEP_ID");
    if (ns && env("OMPI_COMM_WORLD_SIZE")) { /* Open MPI's mpirun */
        snprintf(id, n, "ompi:%.400s", ns);
        return rank_size(c, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", NULL, rank, size);
    }
    if (job && step) { /* Slurm's srun */
        snprintf(id, n, "slurm:%.200s.%.200s", job, step);
        return rank_size(c, "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", rank, size);
    }
    return 0;
}

/* The launcher's rank and task count, rule 1's defaults (unset: 0 of 1): Open MPI's, else srun's, else those
 * of MPICH's Hydra or Intel MPI (PMI_RANK of PMI_SIZE: a rank, no job id); -1 a variable does not parse. */
static int launcher_rank(sd_client *c, int *rank, int *size)
{
    *rank = 0;
    *size = 1;
    if (env("OMPI_COMM_WORLD_SIZE"))
        return rank_size(c, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", NULL, rank, size);
    if (env("SLURM_STEP_ID")) return rank_size(c, "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", rank, size);
    if (env("PMI_SIZE")) return rank_size(c, "PMI_RANK", "PMI_SIZE", NULL, rank, size);
    return 0;
}

static int check_writer(sd_client *c, int writer, int writers, const char *from)
{
    if (writers < 1 || writer < 0 || writer >= writers)
        return sd__fail(c, SD_ERR_ARG, "writer index %d of %d writers (%s): a run needs 0 <= writer < writers",
                        writer, writers, from);
    return SD_OK;
}

static char *joined(const char *a, const char *b, const char *d)
{
    size_t la = strlen(a), lb = strlen(b), ld = strlen(d);
    char *s = malloc(la + lb + ld + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        memcpy(s + la + lb, d, ld + 1);
    }
    return s;
}

int sd__run_init(sd_client *c, int launcher_runs)
{
    sd_run *r = &c->run;
    r->registry = joined(REGISTRY_NS, c->write_prefix, "}");
    if (!r->registry) return sd__fail(c, SD_ERR_NOMEM, "out of memory creating a client");
    char launched[512];
    int rank = 0, size = 1;
    int found = launcher(c, launched, sizeof launched, &rank, &size);
    if (found < 0) return c->err;
    int writer, writers;
    if (launcher_rank(c, &writer, &writers) < 0) return c->err;
    if (env_int(c, "SIMDASK_RUN_WRITER", 0, &writer) < 0 || env_int(c, "SIMDASK_RUN_WRITERS", 1, &writers) < 0)
        return c->err;
    const char *id = env("SIMDASK_RUN_ID"); /* rule 1 */
    if (!id && found && launcher_runs) {    /* rules 2-3: the launcher's run, rank and size */
        id = launched;
        writer = rank;
        writers = size;
    }
    r->env_writer = writer; /* also what sd_begin_run takes for -1 */
    r->env_writers = writers;
    if (!id) return SD_OK; /* rule 4: only sd_begin_run begins a run */
    if (check_writer(c, writer, writers, "SIMDASK_RUN_WRITER of SIMDASK_RUN_WRITERS, or the launcher's") != SD_OK)
        return c->err;
    if (!(r->env_id = strdup(id)) || !(r->id = strdup(id)))
        return sd__fail(c, SD_ERR_NOMEM, "out of memory creating a client");
    r->writer = writer;
    r->writers = writers;
    r->pending = 1;
    return SD_OK;
}

/* ---- begin, heartbeat, end ------------------------------------------------------------ */

/* One command on the registry's shard (*out, when not NULL, gets its reply). Made while a call with its own
 * deadline builds its keys (a run request sets c->until), it keeps to that deadline. */
static int registry_command(sd_client *c, const char *doing, const char *name, const char *key, int argc,
                            const char **argv, int resend, redisReply **out)
{
    sd_argv cmd = {argc, argv, NULL};
    sd_request rq = {.doing = doing, .name = name, .route_key = key, .n = 1, .build = sd__build_argv, .ctx = &cmd,
                     .keep_last = out != NULL, .resend = resend, .deadline = c->until};
    int rc = sd__exec(c, &rq);
    if (out) *out = rq.reply;
    return rc;
}

/* Appends what a run call was about to the client's message. */
static int run_context(sd_client *c, int rc, const char *id, int writer, int writers)
{
    size_t used = strlen(c->errstr);
    snprintf(c->errstr + used, sizeof c->errstr - used, " (run id '%.200s' of group '%.200s', writer %d of %d)", id,
             c->write_prefix, writer, writers);
    return rc;
}

/* EVAL BEGIN_RUN; only once it succeeded does the client write in the run it returns. */
static int begin(sd_client *c, const char *id, int writer, int writers)
{
    sd_run *r = &c->run;
    char host[256], pid[24], w[16], nw[16], lease[16], number[24];
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    snprintf(w, sizeof w, "%d", writer);
    snprintf(nw, sizeof nw, "%d", writers);
    snprintf(lease, sizeof lease, "%d", c->run_lease_ms);
    const char *argv[10] = {"EVAL", sd__begin_run_script, "1", r->registry, id, w, nw, host, pid, lease};
    redisReply *reply;
    /* not idempotent: sent again, it would begin a second run (this writer index took part in the first) */
    int rc = registry_command(c, "beginning run", id, r->registry, 10, argv, SD_RESEND_UNSENT, &reply);
    if (rc != SD_OK) return run_context(c, rc, id, writer, writers);
    long long n = reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
    freeReplyObject(reply);
    if (n <= 0)
        return run_context(c, sd__fail(c, SD_ERR_FORMAT, "the store answered BEGIN_RUN with no run number"), id,
                           writer, writers);
    snprintf(number, sizeof number, "@%lld", n);
    char *prefix = joined(c->write_prefix, number, ""), *copy = id == r->id ? NULL : strdup(id);
    if (!prefix || (id != r->id && !copy)) {
        free(prefix);
        free(copy);
        return sd__fail(c, SD_ERR_NOMEM, "out of memory beginning a run");
    }
    if (copy) {
        free(r->id);
        r->id = copy;
    }
    free(r->prefix);
    r->prefix = prefix;
    r->writer = writer;
    r->writers = writers;
    r->number = n;
    r->pending = 0;
    r->ended = 0;
    r->pid = getpid();
    r->beat_ms = sd__now_ms();
    return SD_OK;
}

/* SET R:<n>:alive:<i> 1 PX <lease>, when a quarter lease has passed since the last one. */
static int heartbeat(sd_client *c)
{
    sd_run *r = &c->run;
    int64_t now = sd__now_ms();
    if (now - r->beat_ms < c->run_lease_ms / 4) return SD_OK;
    char alive[48], lease[16];
    snprintf(alive, sizeof alive, ":%lld:alive:%d", r->number, r->writer);
    snprintf(lease, sizeof lease, "%d", c->run_lease_ms);
    char *key = joined(r->registry, alive, "");
    if (!key) return sd__fail(c, SD_ERR_NOMEM, "out of memory beating a heartbeat");
    const char *argv[5] = {"SET", key, "1", "PX", lease};
    int rc = registry_command(c, "beating the heartbeat", key, key, 5, argv, SD_RESEND_IDEMPOTENT, NULL);
    free(key);
    if (rc != SD_OK) return run_context(c, rc, r->id, r->writer, r->writers);
    r->beat_ms = now;
    return SD_OK;
}

/* EVAL END_RUN (ending twice counts once, so it may be sent again). */
static int end(sd_client *c)
{
    sd_run *r = &c->run;
    char number[24], writer[16];
    snprintf(number, sizeof number, "%lld", r->number);
    snprintf(writer, sizeof writer, "%d", r->writer);
    const char *argv[6] = {"EVAL", sd__end_run_script, "1", r->registry, number, writer};
    int rc = registry_command(c, "ending run", r->id, r->registry, 6, argv, SD_RESEND_IDEMPOTENT, NULL);
    if (rc != SD_OK) return run_context(c, rc, r->id, r->writer, r->writers);
    r->ended = 1;
    return SD_OK;
}

int sd_begin_run(sd_client *c, const char *run_id, int writer, int writers)
{
    SD_ENTER(c);
    sd_run *r = &c->run;
    if (r->number && !r->ended)
        return sd__fail(c, SD_ERR_ARG,
                        "already writing in run %lld of group '%s' (run id '%s'): end it first (sd_end_run)",
                        r->number, c->write_prefix, r->id);
    if (writer < 0) writer = r->env_writer;
    if (writers < 0) writers = r->env_writers;
    if (check_writer(c, writer, writers, "sd_begin_run") != SD_OK) return c->err;
    char random_id[21];
    if (!run_id) run_id = r->env_id;
    if (!run_id) {
        if (writers != 1)
            return sd__fail(c, SD_ERR_ARG,
                            "a run of %d writers needs a run id that all of them pass (or SIMDASK_RUN_ID): "
                            "only a run of one writer takes a random one", writers);
        unsigned char bytes[8]; /* "run-" and 16 hex digits, as the Python client's */
        if (sd__random_bytes(bytes, sizeof bytes) != 0)
            return sd__fail(c, SD_ERR_STORE, "no random bytes for a run id");
        memcpy(random_id, "run-", 4);
        sd__hex(random_id + 4, bytes, sizeof bytes);
        run_id = random_id;
    }
    if (!*run_id || strnlen(run_id, SD_MAX_NAME + 1) > SD_MAX_NAME)
        return sd__fail(c, SD_ERR_ARG, "a run id must have 1 to %d bytes", SD_MAX_NAME);
    return begin(c, run_id, writer, writers);
}

int sd_end_run(sd_client *c)
{
    SD_ENTER(c);
    sd_run *r = &c->run;
    if (r->pending) { /* nothing written yet: begin, so that this writer counts as ended */
        int rc = begin(c, r->id, r->writer, r->writers);
        if (rc != SD_OK) return rc;
    }
    return r->number && !r->ended ? end(c) : SD_OK;
}

int sd_run_number(sd_client *c, long long *run)
{
    SD_ENTER(c);
    if (!run) return sd__fail(c, SD_ERR_ARG, "run is NULL");
    *run = c->run.number;
    return SD_OK;
}

void sd__run_free(sd_client *c)
{
    sd_run *r = &c->run;
    if (r->number && !r->ended && r->pid == getpid()) end(c); /* a forked child leaves its parent's run alone */
    free(r->env_id);
    free(r->id);
    free(r->registry);
    free(r->prefix);
    free(r->source);
    for (size_t i = 0; i < r->n_groups; i++) free(r->groups[i]);
    free(r->groups);
    memset(r, 0, sizeof *r);
}

/* ---- the prefix of each key ------------------------------------------------------------ */

/* The prefix of group with its current run (HGET R current) in *out, malloc'ed: "Q@m", or "Q" alone when the
 * group has no runs. */
static int current_run(sd_client *c, const char *group, char **out)
{
    char *registry = joined(REGISTRY_NS, group, "}");
    if (!registry) return sd__fail(c, SD_ERR_NOMEM, "out of memory reading the runs of group '%s'", group);
    const char *argv[3] = {"HGET", registry, "current"};
    redisReply *reply;
    int rc = registry_command(c, "reading the current run of", registry, registry, 3, argv, SD_RESEND_IDEMPOTENT,
                              &reply);
    free(registry);
    if (rc != SD_OK) return rc;
    char number[24] = "";
    if (reply->type == REDIS_REPLY_STRING) {
        char *end;
        errno = 0;
        long long n = strtoll(reply->str, &end, 10);
        if (reply->len == 0 || *end || errno || n <= 0)
            rc = sd__fail(c, SD_ERR_FORMAT, "the runs of group '%s' name current run '%.40s', not a run number",
                          group, reply->str);
        else
            snprintf(number, sizeof number, "@%lld", n);
    } else if (reply->type != REDIS_REPLY_NIL) {
        rc = sd__fail(c, SD_ERR_FORMAT, "the runs of group '%s' hold no current run number", group);
    }
    freeReplyObject(reply);
    if (rc != SD_OK) return rc;
    *out = joined(group, number, "");
    if (!*out) return sd__fail(c, SD_ERR_NOMEM, "out of memory reading the runs of group '%s'", group);
    return SD_OK;
}

int sd__run_prefix(sd_client *c, int write, const char **prefix)
{
    sd_run *r = &c->run;
    int rc;
    if (write) {
        if (r->pending && (rc = begin(c, r->id, r->writer, r->writers)) != SD_OK) return rc;
        if (r->number && r->ended)
            return sd__fail(c, SD_ERR_ARG,
                            "writer %d has ended run %lld of group '%s' (run id '%s'): no more writes in it; begin "
                            "another with sd_begin_run",
                            r->writer, r->number, c->write_prefix, r->id);
        if (r->number && (rc = heartbeat(c)) != SD_OK) return rc;
        *prefix = r->number ? r->prefix : c->write_prefix;
        return SD_OK;
    }
    if (r->number && strcmp(c->read_prefix, c->write_prefix) == 0) { /* its own group, in a run it has begun */
        *prefix = r->prefix;
        return SD_OK;
    }
    if (!r->source && (rc = current_run(c, c->read_prefix, &r->source)) != SD_OK) return rc; /* never begins */
    *prefix = r->source;
    return SD_OK;
}

/* Where the resolved prefix of group lives: the read prefix's, else its entry among the other groups read
 * (added, unresolved, when missing); NULL: out of memory. */
static char **group_slot(sd_client *c, const char *group)
{
    sd_run *r = &c->run;
    if (strcmp(group, c->read_prefix) == 0) return &r->source;
    size_t len = strlen(group);
    for (size_t i = 0; i < r->n_groups; i++)
        if (strncmp(r->groups[i], group, len) == 0 && (r->groups[i][len] == '\0' || r->groups[i][len] == '@'))
            return &r->groups[i];
    char **grown = realloc(r->groups, (r->n_groups + 1) * sizeof *grown);
    if (!grown) return NULL;
    r->groups = grown;
    r->groups[r->n_groups] = NULL;
    return &r->groups[r->n_groups++];
}

int sd__run_refresh(sd_client *c, const char *group, const char **prefix)
{
    sd_run *r = &c->run;
    if (r->number && strcmp(group, c->write_prefix) == 0) { /* its own group, in a run it has begun */
        *prefix = r->prefix;
        return SD_OK;
    }
    char **slot = group_slot(c, group), *found;
    if (!slot) return sd__fail(c, SD_ERR_NOMEM, "out of memory reading the runs of group '%s'", group);
    if (!*slot || !strchr(*slot, '@')) { /* unresolved, or no run when resolved: look (again) */
        int rc = current_run(c, group, &found);
        if (rc != SD_OK) return rc;
        free(*slot);
        *slot = found;
    }
    *prefix = *slot;
    return SD_OK;
}

void sd__run_forget_source(sd_client *c)
{
    free(c->run.source);
    c->run.source = NULL;
}
