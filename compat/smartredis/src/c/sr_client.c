/*
 * sr_client.c: clients (c_client.h): creation from ConfigOptions or the
 * environment, freeing, key prefixes, existence and polling.
 *
 * Settings (each read through the ConfigOptions, so with its suffix; an
 * unset one falls back to simdask's variable, then to simdask's default):
 *
 *   SSDB              store address(es): host:port, tcp://host:port, unix:///path,
 *                     or a comma-separated cluster list       (SIMDASK_ADDRESS)
 *   SR_DB_TYPE        Standalone or Clustered: checked, not needed (the kind is found out)
 *   SSKEYOUT          prefix of the keys written                (SIMDASK_KEY_PREFIX)
 *   SSKEYIN           comma-separated prefixes read, the first by default
 *                                                               (SIMDASK_KEY_PREFIXES_IN);
 *                     with neither, reads are not prefixed (SmartRedis's rule)
 *   SR_CONN_TIMEOUT   seconds to connect                        (SIMDASK_CONNECT_TIMEOUT)
 *   SR_CMD_TIMEOUT    seconds one reply may take                (SIMDASK_IO_TIMEOUT)
 *   SR_CONN_INTERVAL, SR_CMD_INTERVAL (integers > 0), SR_THREAD_COUNT (>= 0): checked, no effect
 *
 * SR_MODEL_TIMEOUT is read at each run, never suffixed (sr_model.c), as SmartRedis reads it.
 */
#include "sr_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The settings CreateClient reads from a ConfigOptions. */
typedef struct settings {
    char *address, *db_type, *key_out, *keys_in;
    sd_options opt;
} settings;

static void free_settings(settings *s)
{
    free(s->address);
    free(s->db_type);
    free(s->key_out);
    free(s->keys_in);
}

/* SSDB without SmartRedis's "tcp://" scheme on its entries (malloc'ed). */
static char *plain_address(const char *ssdb)
{
    char *out = malloc(strlen(ssdb) + 1), *o = out;
    if (!out) return NULL;
    for (const char *p = ssdb; *p;) {
        while (*p == ' ') p++;
        if (strncmp(p, "tcp://", 6) == 0) p += 6;
        while (*p && *p != ',') *o++ = *p++;
        if (*p == ',') *o++ = *p++;
    }
    *o = '\0';
    return out;
}

static SRError read_settings(sr_config *cfg, settings *s, const char *where)
{
    char *ssdb = NULL;
    int64_t v;
    bool set;
    sd_options_init(&s->opt); /* the SIMDASK_* variables, simdask's defaults */
    s->opt.no_launcher_runs = 1; /* SmartRedis's key names under mpirun/srun; SIMDASK_RUN_ID still makes runs */
    s->opt.deletes_from_source = 1; /* SmartRedis deletes at the read prefix */
    SRError rc = sr__config_string(cfg, "SSDB", &ssdb);
    if (rc == SRNoError && ssdb && !(s->address = plain_address(ssdb)))
        rc = sr__fail(SRBadAllocError, where, "out of memory");
    free(ssdb);
    if (rc == SRNoError) rc = sr__config_string(cfg, "SR_DB_TYPE", &s->db_type);
    if (rc == SRNoError && s->db_type && strcasecmp(s->db_type, "Standalone") != 0 &&
        strcasecmp(s->db_type, "Clustered") != 0)
        rc = sr__fail(SRParameterError, where, "SR_DB_TYPE='%.100s' is neither Standalone nor Clustered", s->db_type);
    if (rc == SRNoError) rc = sr__config_string(cfg, "SSKEYOUT", &s->key_out);
    if (rc == SRNoError) rc = sr__config_string(cfg, "SSKEYIN", &s->keys_in);
    if (rc == SRNoError) rc = sr__config_positive(cfg, "SR_CONN_TIMEOUT", INT_MAX / 1000, where, &v, &set);
    if (rc == SRNoError && set) s->opt.connect_timeout_ms = (int)(v * 1000);
    if (rc == SRNoError) rc = sr__config_positive(cfg, "SR_CMD_TIMEOUT", INT_MAX / 1000, where, &v, &set);
    if (rc == SRNoError && set) s->opt.io_timeout_ms = (int)(v * 1000);
    if (rc == SRNoError) rc = sr__config_positive(cfg, "SR_CONN_INTERVAL", INT_MAX, where, &v, &set);
    if (rc == SRNoError) rc = sr__config_positive(cfg, "SR_CMD_INTERVAL", INT_MAX, where, &v, &set);
    if (rc == SRNoError) rc = sr__config_integer(cfg, "SR_THREAD_COUNT", 0, INT_MAX, where, &v, &set);
    s->opt.address = s->address;
    s->opt.key_prefix = s->key_out;
    s->opt.key_prefixes_in = s->keys_in;
    return rc;
}

static void free_client(sr_client *c)
{
    sr__release_all(&c->obj);
    sd_client_free(c->sd);
    free(c->obj.log_context);
    c->obj.magic = SR_MAGIC_FREED;
    free(c);
}

/* Whether reads have a prefix to use: SSKEYIN, else SIMDASK_KEY_PREFIXES_IN (non-empty entries). */
static int has_incoming(const settings *s)
{
    const char *in = s->keys_in ? s->keys_in : getenv("SIMDASK_KEY_PREFIXES_IN");
    return in && strspn(in, ",") < strlen(in);
}

static SRError create(sr_config *cfg, const char *logger_name, size_t logger_name_length, void **new_client,
                      const char *where)
{
    if (!new_client) return sr__fail(SRParameterError, where, "new_client is NULL");
    *new_client = NULL;
    settings s = {0};
    sr_client *c = calloc(1, sizeof *c);
    if (!c) return sr__fail(SRBadAllocError, where, "out of memory");
    c->obj.magic = SR_MAGIC_CLIENT;
    SRError rc = sr__string(logger_name, logger_name_length, "logger_name", where, &c->obj.log_context);
    if (rc == SRNoError) rc = sr__logging_check(where);
    if (rc == SRNoError) rc = read_settings(cfg, &s, where);
    if (rc == SRNoError) {
        int status = sd_client_new_with_options(&c->sd, &s.opt);
        if (status == SD_OK && !has_incoming(&s)) status = sd_set_data_source(c->sd, ""); /* reads unprefixed */
        if (status != SD_OK)
            rc = c->sd ? sr__fail_client(c, status, where) : sr__fail(SRBadAllocError, where, "out of memory");
    }
    if (rc == SRNoError) {
        int cluster = 0;
        sd_is_cluster(c->sd, &cluster);
        sr__logf(c->obj.log_context, LLDebug, "new client on %s (%s)", s.address ? s.address : "SIMDASK_ADDRESS",
                 cluster ? "cluster" : "standalone");
        *new_client = c;
    } else {
        free_client(c);
    }
    free_settings(&s);
    return rc;
}

SRError CreateClient(void *config_options, const char *logger_name, const size_t logger_name_length,
                     void **new_client)
{
    static const char WHERE[] = "CreateClient";
    sr_config *cfg = sr__config(config_options, WHERE);
    if (!cfg) return SRParameterError;
    return create(cfg, logger_name, logger_name_length, new_client, WHERE);
}

static SRError create_from_env(const char *logger_name, size_t logger_name_length, void **new_client,
                               const char *where)
{
    sr_config *cfg;
    SRError rc = sr__config_from_env("", 0, &cfg);
    if (rc != SRNoError) return rc;
    rc = create(cfg, logger_name, logger_name_length, new_client, where);
    sr__config_free(cfg);
    return rc;
}

SRError SimpleCreateClient(const char *logger_name, const size_t logger_name_length, void **new_client)
{
    return create_from_env(logger_name, logger_name_length, new_client, "SimpleCreateClient");
}

SRError SmartRedisCClient(bool cluster, const char *logger_name, const size_t logger_name_length,
                          void **new_client)
{
    (void)cluster; /* simdask finds out whether SSDB names a cluster */
    return create_from_env(logger_name, logger_name_length, new_client, "SmartRedisCClient");
}

SRError DeleteCClient(void **c_client)
{
    static const char WHERE[] = "DeleteCClient";
    if (!c_client) return sr__fail(SRParameterError, WHERE, "c_client is NULL");
    if (!*c_client) return SRNoError;
    sr_client *c = sr__client(*c_client, WHERE);
    if (!c) return SRParameterError;
    free_client(c);
    *c_client = NULL;
    return SRNoError;
}

const char *client_to_string(void *c_client)
{
    sr_client *c = sr__client(c_client, "client_to_string");
    if (!c) return SRGetLastError();
    char *addresses = NULL;
    int cluster = 0;
    sd_is_cluster(c->sd, &cluster);
    if (sd_db_addresses(c->sd, &addresses) != SD_OK) addresses = NULL;
    size_t n = strlen(c->obj.log_context) + (addresses ? strlen(addresses) : 0) + 160;
    char *text = malloc(n);
    if (text)
        snprintf(text, n, "SmartRedis client '%s' (simdask %s): %s store at %s", c->obj.log_context, sd_version(),
                 cluster ? "cluster" : "standalone", addresses ? addresses : "(unknown)");
    sd_free(addresses);
    return sr__thread_text(text);
}

/* ---- prefixes ------------------------------------------------------------------------ */

SRError set_data_source(void *c_client, const char *source_id, const size_t source_id_length)
{
    static const char WHERE[] = "set_data_source";
    sr_client *c = sr__client(c_client, WHERE);
    char *source;
    if (!c) return SRParameterError;
    SRError rc = sr__string(source_id, source_id_length, "source_id", WHERE, &source);
    if (rc != SRNoError) return rc;
    rc = sr__check(c, sd_set_data_source(c->sd, source), WHERE);
    free(source);
    return rc;
}

static SRError switch_prefix(void *c_client, bool on, int (*set)(sd_client *, int), const char *where)
{
    sr_client *c = sr__client(c_client, where);
    return c ? sr__check(c, set(c->sd, on), where) : SRParameterError;
}

SRError use_tensor_ensemble_prefix(void *c_client, bool use_prefix)
{
    return switch_prefix(c_client, use_prefix, sd_use_tensor_prefix, "use_tensor_ensemble_prefix");
}

SRError use_dataset_ensemble_prefix(void *c_client, bool use_prefix)
{
    return switch_prefix(c_client, use_prefix, sd_use_dataset_prefix, "use_dataset_ensemble_prefix");
}

SRError use_model_ensemble_prefix(void *c_client, bool use_prefix)
{
    return switch_prefix(c_client, use_prefix, sd_use_model_prefix, "use_model_ensemble_prefix");
}

SRError use_list_ensemble_prefix(void *c_client, bool use_prefix)
{
    return switch_prefix(c_client, use_prefix, sd_use_list_prefix, "use_list_ensemble_prefix");
}

/* ---- existence and polling --------------------------------------------------------------- */

/* A check of one name: the client and the name as a string, then check(sd, name, &found). */
typedef int (*exists_fn)(sd_client *, const char *, int *);
typedef int (*poll_fn)(sd_client *, const char *, int, int, int *);

static SRError check_exists(void *c_client, const char *name, size_t len, bool *result, exists_fn check,
                      const char *what, const char *where)
{
    sr_client *c = sr__client(c_client, where);
    if (!c) return SRParameterError;
    if (!result) return sr__fail(SRParameterError, where, "exists is NULL");
    char *s;
    SRError rc = sr__string(name, len, what, where, &s);
    int found = 0;
    if (rc == SRNoError) rc = sr__check(c, check(c->sd, s, &found), where);
    *result = rc == SRNoError && found;
    free(s);
    return rc;
}

static SRError poll_name(void *c_client, const char *name, size_t len, int interval_ms, int tries, bool *result,
                    poll_fn check, const char *what, const char *where)
{
    sr_client *c = sr__client(c_client, where);
    if (!c) return SRParameterError;
    if (!result) return sr__fail(SRParameterError, where, "exists is NULL");
    char *s;
    SRError rc = sr__string(name, len, what, where, &s);
    int found = 0;
    if (rc == SRNoError) rc = sr__check(c, check(c->sd, s, interval_ms, tries, &found), where);
    *result = rc == SRNoError && found;
    free(s);
    return rc;
}

SRError key_exists(void *c_client, const char *key, const size_t key_length, bool *exists)
{
    return check_exists(c_client, key, key_length, exists, sd_key_exists, "key", "key_exists");
}

SRError tensor_exists(void *c_client, const char *name, const size_t name_length, bool *exists)
{
    return check_exists(c_client, name, name_length, exists, sd_tensor_exists, "name", "tensor_exists");
}

SRError model_exists(void *c_client, const char *name, const size_t name_length, bool *exists)
{
    return check_exists(c_client, name, name_length, exists, sd_model_exists, "name", "model_exists");
}

SRError dataset_exists(void *c_client, const char *name, const size_t name_length, bool *exists)
{
    return check_exists(c_client, name, name_length, exists, sd_dataset_exists, "name", "dataset_exists");
}

SRError poll_key(void *c_client, const char *key, const size_t key_length, const int poll_frequency_ms,
                 const int num_tries, bool *exists)
{
    return poll_name(c_client, key, key_length, poll_frequency_ms, num_tries, exists, sd_poll_key, "key", "poll_key");
}

SRError poll_model(void *c_client, const char *name, const size_t name_length, const int poll_frequency_ms,
                   const int num_tries, bool *exists)
{
    return poll_name(c_client, name, name_length, poll_frequency_ms, num_tries, exists, sd_poll_model, "name",
                "poll_model");
}

SRError poll_tensor(void *c_client, const char *name, const size_t name_length, const int poll_frequency_ms,
                    const int num_tries, bool *exists)
{
    return poll_name(c_client, name, name_length, poll_frequency_ms, num_tries, exists, sd_poll_tensor, "name",
                "poll_tensor");
}

SRError poll_dataset(void *c_client, const char *name, const size_t name_length, const int poll_frequency_ms,
                     const int num_tries, bool *exists)
{
    return poll_name(c_client, name, name_length, poll_frequency_ms, num_tries, exists, sd_poll_dataset, "name",
                "poll_dataset");
}
