/*
 * keys.c: store keys from user names (DESIGN.md "Key layout", docs/protocol.md
 * "Key prefixes"), as the Python client's keys module: tensor `t` and list `l`
 * are `p.t` and `p.l`, dataset `ds` is the key base `p.{ds}` with the hash
 * `p.{ds}.meta` and one key `p.{ds}.<tensor>` per tensor. Writes use the
 * client's write prefix, reads and deletes its read prefix ("" : no `p.`).
 */
#include "sd_internal.h"

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

static const char *prefix(const sd_client *c, int write)
{
    return write ? c->write_prefix : c->read_prefix;
}

int sd__key(sd_client *c, const char *what, int write, const char *name, char **out)
{
    int rc = sd__check_name(c, what, name);
    return rc != SD_OK ? rc : join_key(c, prefix(c, write), "", name, "", out);
}

int sd__dataset_base(sd_client *c, int write, const char *name, char **out)
{
    int rc = sd__check_name(c, "dataset name", name);
    if (rc != SD_OK) return rc;
    if (strpbrk(name, "{}"))
        return sd__fail(c, SD_ERR_ARG, "dataset name '%s' contains '{' or '}' (its key is a cluster hash tag)", name);
    return join_key(c, prefix(c, write), "{", name, "}", out);
}

int sd__dataset_key(sd_client *c, const char *base, const char *part, char **out)
{
    return join_key(c, base, "", part, "", out);
}
