/*
 * client.c: the sd_client context: options and environment (the SIMDASK_*
 * variables), defaults, addresses, creation and freeing, and the data source
 * (which key prefix reads use).
 */
#include "sd_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

/* The defaults of simdask/simdask.yaml, in ms (simdask.h says which is which). */
#define DEFAULT_CONNECT_TIMEOUT_MS 10000 /* client.connect-timeout */
#define DEFAULT_IO_TIMEOUT_MS 300000     /* client.socket-timeout */
#define DEFAULT_RUN_TIMEOUT_MS 60000     /* inference.run-timeout */
#define DEFAULT_RUN_LEASE_MS 60000       /* runs.lease */

const char *sd_version(void)
{
    return STR(SIMDASK_VERSION_MAJOR) "." STR(SIMDASK_VERSION_MINOR) "." STR(SIMDASK_VERSION_PATCH);
}

/* ---- construction ---------------------------------------------------------- */

/* A timeout option: its variable (seconds, as Python reads it) and default. */
typedef struct timeout_var {
    const char *name;
    int default_ms;
    int zero_ok; /* 0 means "no limit" (the I/O timeout only) */
} timeout_var;

static const timeout_var CONNECT_VAR = {"SIMDASK_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT_MS, 0};
static const timeout_var IO_VAR = {"SIMDASK_IO_TIMEOUT", DEFAULT_IO_TIMEOUT_MS, 1};
static const timeout_var RUN_VAR = {"SIMDASK_RUN_TIMEOUT", DEFAULT_RUN_TIMEOUT_MS, 0};
static const timeout_var LEASE_VAR = {"SIMDASK_RUN_LEASE", DEFAULT_RUN_LEASE_MS, 0};

/* The variable's value in ms (the default when unset or empty); -1 when it
 * is no number of seconds >= 0 (> 0 unless zero_ok) that fits an int of ms. */
static int timeout_from_env(const timeout_var *var)
{
    const char *text = getenv(var->name);
    char *end;
    if (!text || !*text) return var->default_ms;
    errno = 0;
    double s = strtod(text, &end);
    while (*end == ' ' || *end == '\t' || *end == '\n') end++;
    /* s != s: NaN; infinity fails the range check */
    if (end == text || *end || errno || s != s || s < 0 || s * 1000 > INT_MAX || (s == 0 && !var->zero_ok))
        return -1;
    int ms = (int)(s * 1000);
    return ms < s * 1000 ? ms + 1 : ms; /* rounded up: 0.0001 s is a limit, not "none" */
}

void sd_options_init(sd_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    /* SD_TIMEOUT_UNSET where a variable does not parse: sd_client_new_with_options says which */
    int ms = timeout_from_env(&CONNECT_VAR);
    opt->connect_timeout_ms = ms < 0 ? SD_TIMEOUT_UNSET : ms;
    ms = timeout_from_env(&IO_VAR);
    opt->io_timeout_ms = ms < 0 ? SD_TIMEOUT_UNSET : ms;
    ms = timeout_from_env(&RUN_VAR);
    opt->run_timeout_ms = ms < 0 ? SD_TIMEOUT_UNSET : ms;
    ms = timeout_from_env(&LEASE_VAR);
    opt->run_lease_ms = ms < 0 ? SD_TIMEOUT_UNSET : ms;
}

/* One timeout option, as simdask.h says: SD_TIMEOUT_UNSET reads the
 * variable, other values <= 0 take the default (the I/O timeout: no limit). */
static int resolve_timeout(sd_client *c, int given, const timeout_var *var, int *ms)
{
    if (given == SD_TIMEOUT_UNSET) {
        *ms = timeout_from_env(var);
        if (*ms < 0)
            return sd__fail(c, SD_ERR_ARG, "%s='%.100s' is not a timeout in seconds (a number >= 0%s)", var->name,
                            getenv(var->name), var->zero_ok ? ", 0: no limit" : ", not 0");
    } else if (given > 0) {
        *ms = given;
    } else {
        *ms = var->zero_ok ? 0 : var->default_ms;
    }
    return SD_OK;
}

static const char *option_or_env(const char *value, const char *env)
{
    if (value) return value;
    const char *e = getenv(env);
    return e ? e : "";
}

static char *trimmed(const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n')) len--;
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

/* Splits "a,b, c" into trimmed non-empty entries. */
static int split_list(const char *s, sd_strv *out)
{
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char *t = trimmed(s, len);
        if (!t) return -1;
        int rc = *t ? sd__strv_push(out, t, strlen(t)) : 0;
        free(t);
        if (rc) return -1;
        s += len;
        if (*s == ',') s++;
    }
    return 0;
}

/* "a,b" -> entries, empty ones dropped, nothing trimmed (as the Python client). */
static int split_prefixes(const char *s, sd_strv *out)
{
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (len && sd__strv_push(out, s, len) != 0) return -1;
        s += len;
        if (*s == ',') s++;
    }
    return 0;
}

static int parse_address(sd_client *c, const char *address)
{
    sd_strv parts = {0};
    int rc = SD_OK;
    if (split_list(address, &parts) != 0) return sd__fail(c, SD_ERR_NOMEM, "out of memory parsing the address");
    if (parts.n == 0) {
        rc = sd__fail(c, SD_ERR_ARG, "empty store address");
        goto done;
    }
    for (size_t i = 0; i < parts.n && rc == SD_OK; i++) {
        char *a = parts.v[i];
        sd_node *n;
        if (strncmp(a, "unix://", 7) == 0) {
            if (a[7] != '/') {
                rc = sd__fail(c, SD_ERR_ARG, "Unix socket address '%s' needs an absolute path (unix:///path/to/socket)",
                              a);
            } else if (parts.n > 1) {
                rc = sd__fail(c, SD_ERR_ARG, "a cluster address list cannot contain Unix sockets: '%s'", address);
            } else {
                rc = sd__node_add(c, NULL, 0, a + 7, &n);
            }
            continue;
        }
        char *host = a, *colon;
        if (a[0] == '[') {
            char *close = strstr(a, "]:");
            colon = close ? close + 1 : NULL;
            if (close) {
                *close = '\0';
                host = a + 1;
            }
        } else {
            colon = strrchr(a, ':');
            if (colon) *colon = '\0';
        }
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || !*host || end == colon + 1 || *end || port <= 0 || port > 65535) {
            if (colon) *colon = ':';
            rc = sd__fail(c, SD_ERR_ARG, "invalid store address '%s': expected host:port, [ipv6]:port or unix:///path",
                          parts.v[i]);
            continue;
        }
        rc = sd__node_add(c, host, (int)port, NULL, &n);
    }
done:
    sd__strv_free(&parts);
    return rc;
}

/* No password given and SIMDASK_PASSWORD unset or empty: the one a store of
 * this user left in its credentials file of one of the addresses, if any. */
static int password_from_credentials(sd_client *c)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        char *password, *path;
        int found = sd__credentials_read(c->nodes[i]->host, c->nodes[i]->label, &password, &path,
                                         &c->credentials_note);
        if (found < 0) return sd__fail(c, SD_ERR_NOMEM, "out of memory reading a credentials file");
        if (found) {
            free(c->password);
            c->password = password;
            c->password_file = path;
            return SD_OK;
        }
    }
    return SD_OK;
}

int sd_client_new_with_options(sd_client **out, const sd_options *opt)
{
    sd_options defaults;
    if (!out) return SD_ERR_ARG;
    *out = NULL;
    sd_client *c = calloc(1, sizeof *c);
    if (!c) return SD_ERR_NOMEM;
    *out = c;
    if (!opt) {
        sd_options_init(&defaults);
        opt = &defaults;
    }
    int rc = resolve_timeout(c, opt->connect_timeout_ms, &CONNECT_VAR, &c->connect_timeout_ms);
    if (rc == SD_OK) rc = resolve_timeout(c, opt->io_timeout_ms, &IO_VAR, &c->io_timeout_ms);
    if (rc == SD_OK) rc = resolve_timeout(c, opt->run_timeout_ms, &RUN_VAR, &c->run_timeout_ms);
    if (rc == SD_OK) rc = resolve_timeout(c, opt->run_lease_ms, &LEASE_VAR, &c->run_lease_ms);
    if (rc != SD_OK) return rc;
    c->reply_ms = c->io_timeout_ms;
    const char *address = option_or_env(opt->address, "SIMDASK_ADDRESS");
    c->password = strdup(option_or_env(opt->password, "SIMDASK_PASSWORD")); /* "": none given */
    c->write_prefix = strdup(option_or_env(opt->key_prefix, "SIMDASK_KEY_PREFIX"));
    if (!c->password || !c->write_prefix ||
        split_prefixes(option_or_env(opt->key_prefixes_in, "SIMDASK_KEY_PREFIXES_IN"), &c->prefixes_in) != 0)
        return sd__fail(c, SD_ERR_NOMEM, "out of memory creating a client");
    if (strpbrk(c->write_prefix, "{},@"))
        return sd__fail(c, SD_ERR_ARG, "key prefix '%s' must not contain braces, commas or '@'", c->write_prefix);
    for (size_t i = 0; i < c->prefixes_in.n; i++)
        if (strpbrk(c->prefixes_in.v[i], "{}@"))
            return sd__fail(c, SD_ERR_ARG, "key prefix '%s' must not contain braces, commas or '@'",
                            c->prefixes_in.v[i]);
    c->read_prefix = strdup(c->prefixes_in.n ? c->prefixes_in.v[0] : c->write_prefix);
    if (!c->read_prefix) return sd__fail(c, SD_ERR_NOMEM, "out of memory creating a client");
    c->use_tensor_prefix = c->use_dataset_prefix = c->use_list_prefix = 1; /* models and scripts: off */
    c->deletes_from_source = opt->deletes_from_source != 0;
    if ((rc = sd__run_init(c, !opt->no_launcher_runs)) != SD_OK) return rc;
    if ((rc = sd__requests_init(c, opt->node)) != SD_OK) return rc;
    if (!*address)
        return sd__fail(c, SD_ERR_ARG,
                        "no store address given and SIMDASK_ADDRESS is not set; start a store (simdask.Store or "
                        "`simdask store start`) and pass its address");
    rc = parse_address(c, address);
    if (rc == SD_OK && !opt->password && !*c->password) rc = password_from_credentials(c);
    if (rc != SD_OK) return rc;
    return sd__cluster_discover(c);
}

int sd_client_new(sd_client **out, const char *address)
{
    sd_options opt;
    sd_options_init(&opt);
    opt.address = address;
    return sd_client_new_with_options(out, &opt);
}

void sd_client_free(sd_client *c)
{
    if (!c) return;
    sd__run_free(c); /* ends the run it began */
    sd__nodes_free(c);
    free(c->slots);
    free(c->password);
    free(c->password_file);
    free(c->credentials_note);
    free(c->write_prefix);
    free(c->read_prefix);
    free(c->node_loops);
    free(c->node_stream);
    sd__strv_free(&c->prefixes_in);
    sd__pipe_free(&c->pipe);
    free(c);
}

int sd_is_cluster(const sd_client *c, int *is_cluster)
{
    if (!c || !is_cluster) return SD_ERR_ARG;
    *is_cluster = c->cluster;
    return SD_OK;
}

/* ---- data source ----------------------------------------------------------- */

int sd_set_data_source(sd_client *c, const char *prefix)
{
    SD_ENTER(c);
    if (!prefix) return sd__fail(c, SD_ERR_ARG, "prefix is NULL");
    int ok = !*prefix || strcmp(prefix, c->write_prefix) == 0;
    for (size_t i = 0; i < c->prefixes_in.n && !ok; i++) ok = strcmp(prefix, c->prefixes_in.v[i]) == 0;
    if (!ok)
        return sd__fail(c, SD_ERR_ARG,
                        "prefix '%s' is neither the client's own prefix ('%s'), nor one of SIMDASK_KEY_PREFIXES_IN, "
                        "nor \"\" (none)",
                        prefix, c->write_prefix);
    char *copy = strdup(prefix);
    if (!copy) return sd__fail(c, SD_ERR_NOMEM, "out of memory");
    free(c->read_prefix);
    c->read_prefix = copy;
    sd__run_forget_source(c);
    return SD_OK;
}

/* ---- which names get the prefixes ------------------------------------------- */

int sd_use_tensor_prefix(sd_client *c, int use_prefix)
{
    SD_ENTER(c);
    c->use_tensor_prefix = use_prefix != 0;
    return SD_OK;
}

int sd_use_dataset_prefix(sd_client *c, int use_prefix)
{
    SD_ENTER(c);
    c->use_dataset_prefix = use_prefix != 0;
    return SD_OK;
}

int sd_use_list_prefix(sd_client *c, int use_prefix)
{
    SD_ENTER(c);
    c->use_list_prefix = use_prefix != 0;
    return SD_OK;
}

int sd_use_model_prefix(sd_client *c, int use_prefix)
{
    SD_ENTER(c);
    c->use_model_prefix = use_prefix != 0;
    return SD_OK;
}
