/*
 * keys.c: store keys from user names (DESIGN.md "Key layout", docs/protocol.md
 * "Key prefixes"), as the Python client's keys module: tensor `t` and list `l`
 * are `p.t` and `p.l`, dataset `ds` is the key base `p.{ds}` with the hash
 * `p.{ds}.meta` and one key `p.{ds}.<tensor>` per tensor. Writes and deletes
 * use the client's write prefix, reads its read prefix ("" : no `p.`), each
 * with its run where it has one (`p@n`, `@n` for the empty prefix: runs.c).
 * A read that finds nothing looks next at its fallbacks (docs/protocol.md
 * "Runs", sd_rkey): the plain key of a run-scoped one (keys written outside
 * any run show in every run), the read group's run begun since it had none,
 * and for a tensor or list name "q.rest" the run of writer group q.
 */
#include "sd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sd__check_name(sd_client *c, const char *what, const char *name)
{
    if (!name) return sd__fail(c, SD_ERR_ARG, "%s is NULL", what);
    size_t len = strnlen(name, SD_MAX_NAME + 1);
    if (len == 0) return sd__fail(c, SD_ERR_ARG, "%s is empty", what);
    if (len > SD_MAX_NAME) return sd__fail(c, SD_ERR_ARG, "%s is longer than %d bytes", what, SD_MAX_NAME);
    return SD_OK;
}

/* prefix "." open name close, without "prefix." when the prefix is empty. */
static int join_key(sd_client *c, const char *prefix, const char *open, const char *name, const char *close,
                    char **out)
{
    size_t pl = strlen(prefix), ol = strlen(open), nl = strlen(name), cl = strlen(close);
    char *k = malloc(pl + 1 + ol + nl + cl + 1);
    if (!k) return sd__fail(c, SD_ERR_NOMEM, "out of memory building a key");
    char *p = k;
    if (pl) {
        memcpy(p, prefix, pl);
        p += pl;
        *p++ = '.';
    }
    memcpy(p, open, ol);
    p += ol;
    memcpy(p, name, nl);
    p += nl;
    memcpy(p, close, cl + 1);
    *out = k;
    return SD_OK;
}

/* The prefix with its run (runs.c); a failure says which name it was for. */
static int run_prefix(sd_client *c, int write, const char *what, const char *name, const char **prefix)
{
    int rc = sd__run_prefix(c, write, prefix);
    if (rc != SD_OK) {
        size_t used = strlen(c->errstr);
        snprintf(c->errstr + used, sizeof c->errstr - used, ", for %s '%.200s'", what, name);
    }
    return rc;
}

/* run_prefix, or "" when names of that kind get no prefix (sd_use_*_prefix). */
static int kind_prefix(sd_client *c, int use_prefix, int write, const char *what, const char *name,
                       const char **prefix)
{
    if (use_prefix) return run_prefix(c, write, what, name, prefix);
    *prefix = "";
    return SD_OK;
}

int sd__key(sd_client *c, const char *what, int write, const char *name, char **out)
{
    const char *prefix;
    int rc = sd__check_name(c, what, name);
    if (rc == SD_OK) rc = kind_prefix(c, c->use_tensor_prefix, write, what, name, &prefix);
    return rc != SD_OK ? rc : join_key(c, prefix, "", name, "", out);
}

int sd__list_key(sd_client *c, int write, const char *name, char **out)
{
    const char *prefix;
    int rc = sd__check_name(c, "list name", name);
    if (rc == SD_OK) rc = kind_prefix(c, c->use_list_prefix, write, "list name", name, &prefix);
    return rc != SD_OK ? rc : join_key(c, prefix, "", name, "", out);
}

int sd__model_name(sd_client *c, const char *what, int write, const char *name, char **out)
{
    int rc = sd__check_name(c, what, name);
    if (rc != SD_OK) return rc;
    const char *prefix = !c->use_model_prefix ? "" : write ? c->write_prefix : c->read_prefix;
    return join_key(c, prefix, "", name, "", out);
}

static int check_dataset_name(sd_client *c, const char *name)
{
    int rc = sd__check_name(c, "dataset name", name);
    if (rc == SD_OK && strpbrk(name, "{}"))
        rc = sd__fail(c, SD_ERR_ARG, "dataset name '%s' contains '{' or '}' (its key is a cluster hash tag)", name);
    return rc;
}

int sd__dataset_base(sd_client *c, int write, const char *name, char **out)
{
    const char *prefix;
    int rc = check_dataset_name(c, name);
    if (rc == SD_OK) rc = kind_prefix(c, c->use_dataset_prefix, write, "dataset name", name, &prefix);
    return rc != SD_OK ? rc : join_key(c, prefix, "{", name, "}", out);
}

int sd__dataset_key(sd_client *c, const char *base, const char *part, char **out)
{
    return join_key(c, base, "", part, "", out);
}

/* k->key from the read prefix as reads resolve it now. */
static int build_read_key(sd_client *c, sd_rkey *k)
{
    const char *prefix;
    free(k->key);
    k->key = NULL;
    int rc = kind_prefix(c, !k->unprefixed, 0, k->what, k->name, &prefix);
    if (rc != SD_OK) return rc;
    k->scoped = strchr(prefix, '@') != NULL; /* prefixes may not hold '@': only a run puts one there */
    return join_key(c, prefix, k->open, k->name, k->close, &k->key);
}

int sd__read_key(sd_client *c, const char *what, const char *name, sd_rkey *k)
{
    *k = (sd_rkey){NULL, what, name, "", "", 0, !c->use_tensor_prefix};
    int rc = sd__check_name(c, what, name);
    return rc != SD_OK ? rc : build_read_key(c, k);
}

int sd__list_read_key(sd_client *c, const char *name, sd_rkey *k)
{
    *k = (sd_rkey){NULL, "list name", name, "", "", 0, !c->use_list_prefix};
    int rc = sd__check_name(c, "list name", name);
    return rc != SD_OK ? rc : build_read_key(c, k);
}

int sd__dataset_read_base(sd_client *c, const char *name, sd_rkey *k)
{
    *k = (sd_rkey){NULL, "dataset name", name, "{", "}", 0, !c->use_dataset_prefix};
    int rc = check_dataset_name(c, name);
    return rc != SD_OK ? rc : build_read_key(c, k);
}

void sd__rkey_free(sd_rkey *k)
{
    free(k->key);
    k->key = NULL;
}

enum { MAX_FALLBACKS = 2 };

/* Where a read of k looks when k->key holds nothing, in order (sd_rkey): *n keys in out, malloc'ed. */
static int fallbacks(sd_client *c, const sd_rkey *k, char *out[MAX_FALLBACKS], size_t *n)
{
    const char *prefix;
    int rc = SD_OK;
    *n = 0;
    if (k->unprefixed) { /* no prefix, so no run of the read group */
    } else if (k->scoped) { /* the plain key: the read prefix without the run */
        rc = join_key(c, c->read_prefix, k->open, k->name, k->close, &out[*n]);
        if (rc == SD_OK) ++*n;
    } else if ((rc = sd__run_refresh(c, c->read_prefix, &prefix)) == SD_OK && strchr(prefix, '@')) {
        rc = join_key(c, prefix, k->open, k->name, k->close, &out[*n]); /* a run begun since */
        if (rc == SD_OK) ++*n;
    }
    const char *dot = *k->open ? NULL : strchr(k->name, '.'); /* a dataset's name starts with '{' */
    size_t len = dot ? (size_t)(dot - k->name) : 0;
    if (rc == SD_OK && len && strcspn(k->name, "{},@") >= len) { /* "q.rest": rest in writer group q's run */
        char group[SD_MAX_NAME + 1];
        memcpy(group, k->name, len);
        group[len] = '\0';
        if ((rc = sd__run_refresh(c, group, &prefix)) == SD_OK && strchr(prefix, '@')) {
            rc = join_key(c, prefix, "", dot + 1, "", &out[*n]);
            if (rc == SD_OK) ++*n;
        }
    }
    if (rc != SD_OK) {
        while (*n) free(out[--*n]);
    }
    return rc;
}

int sd__read_fallback(sd_client *c, const sd_rkey *k, sd_read_fn read, void *ctx)
{
    int rc = read(c, k->key, ctx);
    if (rc != SD_ERR_NOT_FOUND) return rc;
    char missed[sizeof c->errstr], tried[600] = "";
    memcpy(missed, c->errstr, sizeof missed);
    char *more[MAX_FALLBACKS];
    size_t n;
    if ((rc = fallbacks(c, k, more, &n)) != SD_OK) return rc;
    rc = SD_ERR_NOT_FOUND;
    for (size_t i = 0; i < n; i++) {
        if (rc == SD_ERR_NOT_FOUND) rc = read(c, more[i], ctx);
        size_t used = strlen(tried);
        snprintf(tried + used, sizeof tried - used, "%s'%.200s'", i ? ", " : "", more[i]);
        free(more[i]);
    }
    if (rc != SD_ERR_NOT_FOUND) return rc;
    return n ? sd__fail(c, rc, "%.700s (nor at %s)", missed, tried) : sd__fail(c, rc, "%s", missed);
}

int sd__check_fallback(sd_client *c, void *ctx, int *hit)
{
    const sd_fallback_check *f = ctx;
    int rc = f->check(c, f->k->key, hit);
    if (rc != SD_OK || *hit) return rc;
    char *more[MAX_FALLBACKS];
    size_t n;
    if ((rc = fallbacks(c, f->k, more, &n)) != SD_OK) return rc;
    for (size_t i = 0; i < n; i++) {
        if (rc == SD_OK && !*hit) rc = f->check(c, more[i], hit);
        free(more[i]);
    }
    return rc == SD_OK && !*hit ? build_read_key(c, f->k) : rc;
}
