/*
 * sr_config.c: ConfigOptions (c_configoptions.h), SmartRedis's way to name
 * where a client's settings come from.
 *
 * An option is read when asked, from the environment variable of its name
 * with "_<suffix>" appended when the object has a suffix (SSDB_<suffix>,
 * SR_CMD_TIMEOUT_<suffix>, ... as SmartRedis reads every option of a
 * suffixed object), unless an override of this object set it.
 */
#include "sr_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sr_option *find_override(sr_config *cfg, const char *name)
{
    for (sr_option *o = cfg->overrides; o; o = o->next)
        if (strcmp(o->name, name) == 0) return o;
    return NULL;
}

SRError sr__config_string(sr_config *cfg, const char *name, char **value)
{
    *value = NULL;
    sr_option *o = find_override(cfg, name);
    const char *found = o ? o->value : NULL;
    if (!o) {
        size_t n = strlen(name) + strlen(cfg->suffix) + 2;
        char *var = malloc(n);
        if (!var) return sr__fail(SRBadAllocError, "ConfigOptions", "out of memory");
        snprintf(var, n, *cfg->suffix ? "%s_%s" : "%s", name, cfg->suffix);
        found = getenv(var);
        free(var);
    }
    if (found && !(*value = strdup(found))) return sr__fail(SRBadAllocError, "ConfigOptions", "out of memory");
    return SRNoError;
}

/* The name of the option's variable, for messages. */
static void variable(const sr_config *cfg, const char *name, char *out, size_t n)
{
    snprintf(out, n, *cfg->suffix ? "%s_%s" : "%s", name, cfg->suffix);
}

/* text as an int64 (surrounding blanks allowed); -1 when it is none. */
static int parse_int(const char *text, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\n') end++;
    if (end == text || *end || errno) return -1;
    *out = (int64_t)v;
    return 0;
}

SRError sr__config_positive(sr_config *cfg, const char *name, int64_t max, const char *where, int64_t *value,
                            bool *set)
{
    return sr__config_integer(cfg, name, 1, max, where, value, set);
}

SRError sr__config_integer(sr_config *cfg, const char *name, int64_t min, int64_t max, const char *where,
                           int64_t *value, bool *set)
{
    char *text, var[160];
    SRError rc = sr__config_string(cfg, name, &text);
    *set = false;
    if (rc != SRNoError || !text) return rc;
    int64_t v = 0;
    if (parse_int(text, &v) != 0 || v < min || v > max) {
        variable(cfg, name, var, sizeof var);
        rc = sr__fail(SRParameterError, where, "%s='%.100s' must be an integer from %" PRId64 " to %" PRId64, var,
                      text, min, max);
    } else {
        *value = v;
        *set = true;
    }
    free(text);
    return rc;
}

SRError sr__config_from_env(const char *suffix, size_t len, sr_config **out)
{
    static const char WHERE[] = "create_configoptions_from_environment";
    *out = NULL;
    sr_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return sr__fail(SRBadAllocError, WHERE, "out of memory");
    SRError rc = sr__string(suffix ? suffix : "", suffix ? len : 0, "db_suffix", WHERE, &cfg->suffix);
    if (rc == SRNoError && !(cfg->obj.log_context = strdup("ConfigOptions")))
        rc = sr__fail(SRBadAllocError, WHERE, "out of memory");
    if (rc != SRNoError) {
        free(cfg->suffix);
        free(cfg);
        return rc;
    }
    cfg->obj.magic = SR_MAGIC_CONFIG;
    *out = cfg;
    return SRNoError;
}

void sr__config_free(sr_config *cfg)
{
    if (!cfg) return;
    while (cfg->overrides) {
        sr_option *o = cfg->overrides;
        cfg->overrides = o->next;
        free(o->name);
        free(o->value);
        free(o);
    }
    sr__release_all(&cfg->obj);
    free(cfg->suffix);
    free(cfg->obj.log_context);
    cfg->obj.magic = SR_MAGIC_FREED;
    free(cfg);
}

/* ---- c_configoptions.h ------------------------------------------------------------- */

SRError create_configoptions_from_environment(const char *db_suffix, const size_t db_suffix_length,
                                              void **new_configoptions)
{
    if (!new_configoptions)
        return sr__fail(SRParameterError, "create_configoptions_from_environment", "new_configoptions is NULL");
    sr_config *cfg;
    SRError rc = sr__config_from_env(db_suffix, db_suffix_length, &cfg);
    *new_configoptions = cfg;
    return rc;
}

/* The object and the option's name (empty: SRKeyError, as SmartRedis). */
static SRError begin(void *c_cfgopts, const char *option_name, size_t len, const char *where, sr_config **cfg,
                     char **name)
{
    *name = NULL;
    if (!(*cfg = sr__config(c_cfgopts, where))) return SRParameterError;
    SRError rc = sr__string(option_name, len, "option_name", where, name);
    if (rc == SRNoError && !**name) {
        free(*name);
        *name = NULL;
        rc = sr__fail(SRKeyError, where, "the option name is empty");
    }
    return rc;
}

SRError get_integer_option(void *c_cfgopts, const char *option_name, size_t option_name_len, int64_t *result)
{
    static const char WHERE[] = "get_integer_option";
    sr_config *cfg;
    char *name, *text = NULL, var[160];
    SRError rc = begin(c_cfgopts, option_name, option_name_len, WHERE, &cfg, &name);
    if (rc == SRNoError && !result) rc = sr__fail(SRParameterError, WHERE, "result is NULL");
    if (rc == SRNoError) rc = sr__config_string(cfg, name, &text);
    if (rc == SRNoError) {
        variable(cfg, name, var, sizeof var);
        if (!text) rc = sr__fail(SRKeyError, WHERE, "option %s is not set (environment variable %s)", name, var);
        else if (parse_int(text, result) != 0)
            rc = sr__fail(SRParameterError, WHERE, "option %s='%.100s' is not an integer", var, text);
    }
    free(text);
    free(name);
    return rc;
}

SRError get_string_option(void *c_cfgopts, const char *option_name, size_t option_name_len, char **result,
                          size_t *result_len)
{
    static const char WHERE[] = "get_string_option";
    sr_config *cfg;
    char *name, *text = NULL, var[160];
    SRError rc = begin(c_cfgopts, option_name, option_name_len, WHERE, &cfg, &name);
    if (rc == SRNoError && (!result || !result_len)) rc = sr__fail(SRParameterError, WHERE, "result is NULL");
    if (rc == SRNoError) rc = sr__config_string(cfg, name, &text);
    if (rc == SRNoError && !text) {
        variable(cfg, name, var, sizeof var);
        rc = sr__fail(SRKeyError, WHERE, "option %s is not set (environment variable %s)", name, var);
    }
    if (rc == SRNoError && sr__keep(&cfg->obj, text, NULL) != 0) rc = sr__fail(SRBadAllocError, WHERE, "out of memory");
    if (rc == SRNoError) {
        *result = text;
        *result_len = strlen(text);
    } else {
        free(text);
    }
    free(name);
    return rc;
}

SRError is_configured(void *c_cfgopts, const char *option_name, size_t option_name_len, bool *cfg_result)
{
    static const char WHERE[] = "is_configured";
    sr_config *cfg;
    char *name, *text = NULL;
    SRError rc = begin(c_cfgopts, option_name, option_name_len, WHERE, &cfg, &name);
    if (rc == SRNoError && !cfg_result) rc = sr__fail(SRParameterError, WHERE, "cfg_result is NULL");
    if (rc == SRNoError) rc = sr__config_string(cfg, name, &text);
    if (rc == SRNoError) *cfg_result = text != NULL;
    free(text);
    free(name);
    return rc;
}

static SRError override(void *c_cfgopts, const char *option_name, size_t option_name_len, const char *value,
                        const char *where)
{
    sr_config *cfg;
    char *name, *copy = NULL;
    SRError rc = begin(c_cfgopts, option_name, option_name_len, where, &cfg, &name);
    if (rc != SRNoError) return rc;
    sr_option *o = find_override(cfg, name);
    if (!(copy = strdup(value)) || (!o && !(o = calloc(1, sizeof *o)))) {
        free(copy);
        free(name);
        return sr__fail(SRBadAllocError, where, "out of memory");
    }
    if (o->name) { /* replacing an override */
        free(name);
        free(o->value);
    } else {
        o->name = name;
        o->next = cfg->overrides;
        cfg->overrides = o;
    }
    o->value = copy;
    return SRNoError;
}

SRError override_integer_option(void *c_cfgopts, const char *option_name, size_t option_name_len, int64_t value)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, value);
    return override(c_cfgopts, option_name, option_name_len, text, "override_integer_option");
}

SRError override_string_option(void *c_cfgopts, const char *option_name, size_t option_name_len, const char *value,
                               size_t value_len)
{
    static const char WHERE[] = "override_string_option";
    char *text;
    SRError rc = sr__string(value, value_len, "value", WHERE, &text);
    if (rc != SRNoError) return rc;
    rc = override(c_cfgopts, option_name, option_name_len, text, WHERE);
    free(text);
    return rc;
}

SRError DeallocateConfigOptions(void **c_cfgopts)
{
    static const char WHERE[] = "DeallocateConfigOptions";
    if (!c_cfgopts) return sr__fail(SRParameterError, WHERE, "c_cfgopts is NULL");
    if (!*c_cfgopts) return SRNoError;
    sr_config *cfg = sr__config(*c_cfgopts, WHERE);
    if (!cfg) return SRParameterError;
    sr__config_free(cfg);
    *c_cfgopts = NULL;
    return SRNoError;
}
