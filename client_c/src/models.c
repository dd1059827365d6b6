/*
 * models.c: stored models and scripts, as the Python client's
 * protocol/models.py writes them (docs/protocol.md "Run requests"): the
 * bytes as a uint8 tensor at simdask:model:{<name>} (scripts:
 * simdask:script:{<name>}) whose attrs hold {"simdask_spec": {kind, name,
 * backend, format, device, batch_size, min_batch_size, min_batch_timeout,
 * tag, inputs, outputs, version, extra}}. A store first INCRs
 * simdask:model-version:{<name>} and records the result as the version, then
 * writes the tensor as tensors.c writes any (chunks first above 8 MiB; the
 * head in a transaction with the cleanup of the previous version's chunks).
 *
 * TORCH bytes must be a TorchScript archive: a zip file whose central
 * directory names code/ and constants.pkl, as blob_format decides in Python;
 * a torch.export archive is refused (loading one can run arbitrary code).
 */
#include "sd_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEVICE 32 /* "GPU:<index>" */

static const char TORCH_EXPORT_REFUSED[] =
    "torch.export programs (.pt2) are refused: loading one unpickles its sample inputs and weights and resolves "
    "its graph's functions by name, so a stored program could run any code in the serving loop. Store the model "
    "as TorchScript (torch.jit.script or torch.jit.trace) or as ONNX (torch.onnx.export) instead";

void sd_model_options_init(sd_model_options *opt)
{
    if (opt) memset(opt, 0, sizeof *opt);
}

/* ---- checks ------------------------------------------------------------------ */

/* "CPU", "GPU" or "GPU:n" in any case, normalised into out (NULL: "CPU"). */
static int check_device(sd_client *c, const char *what, const char *name, const char *device, char *out)
{
    const char *given = device ? device : "CPU";
    size_t n = strlen(given);
    int ok = n >= 3 && n < MAX_DEVICE;
    for (size_t i = 0; ok && i < n; i++) out[i] = (char)toupper((unsigned char)given[i]);
    if (ok) {
        out[n] = '\0';
        ok = (strncmp(out, "CPU", 3) == 0 || strncmp(out, "GPU", 3) == 0) && (n == 3 || (out[3] == ':' && n > 4));
        for (size_t i = 4; ok && i < n; i++) ok = isdigit((unsigned char)out[i]);
    }
    if (!ok)
        return sd__fail(c, SD_ERR_ARG, "%s '%s': device must be 'CPU', 'GPU' or 'GPU:n', got '%.40s'", what, name,
                        given);
    return SD_OK;
}

static uint32_t le16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
    return le16(p) | le16(p + 2) << 16;
}

static uint64_t le64(const unsigned char *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int contains(const unsigned char *s, size_t n, const char *part)
{
    size_t k = strlen(part);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, part, k) == 0) return 1;
    return 0;
}

static int ends_with(const unsigned char *s, size_t n, const char *end)
{
    size_t k = strlen(end);
    return n >= k && memcmp(s + n - k, end, k) == 0;
}

/* What the names of a zip file's central directory say it holds. */
typedef struct zip_names {
    int code, constants; /* a TorchScript archive: .../code/... and ...constants.pkl */
    int exported;        /* a torch.export archive: ...archive_format or .../models/... */
} zip_names;

/* Reads the central directory (zip64 too) that the end record points at; -1: not a zip file. */
static int zip_scan(const unsigned char *z, size_t n, zip_names *out)
{
    if (n < 22) return -1;
    size_t lowest = n - 22 > 65535 ? n - 22 - 65535 : 0, e = n - 22; /* the end record ends with a comment */
    while (le32(z + e) != 0x06054b50)
        if (e-- == lowest) return -1;
    uint64_t count = le16(z + e + 10), size = le32(z + e + 12), off = le32(z + e + 16);
    if (count == 0xFFFF || size == 0xFFFFFFFF || off == 0xFFFFFFFF) { /* zip64: its locator comes first */
        if (e < 20 || le32(z + e - 20) != 0x07064b50) return -1;
        uint64_t z64 = le64(z + e - 20 + 8);
        if (n < 56 || z64 > n - 56 || le32(z + z64) != 0x06064b50) return -1;
        count = le64(z + z64 + 32);
        size = le64(z + z64 + 40);
        off = le64(z + z64 + 48);
    }
    if (off > n || size > n - off) return -1;
    size_t p = (size_t)off, end = (size_t)(off + size);
    for (uint64_t i = 0; i < count; i++) {
        if (end - p < 46 || le32(z + p) != 0x02014b50) return -1;
        size_t name_len = le16(z + p + 28), rest = name_len + le16(z + p + 30) + le16(z + p + 32);
        if (end - p - 46 < rest) return -1;
        const unsigned char *name = z + p + 46;
        out->code |= contains(name, name_len, "/code/");
        out->constants |= ends_with(name, name_len, "constants.pkl");
        out->exported |= ends_with(name, name_len, "archive_format") || contains(name, name_len, "/models/");
        p += 46 + rest;
    }
    return 0;
}

/* The spec's format of the model's bytes (Python's blob_format). */
static int model_format(sd_client *c, const char *name, const void *blob, size_t n, const char *backend,
                        const char **format)
{
    zip_names z = {0, 0, 0};
    if (n == 0) return sd__fail(c, SD_ERR_ARG, "model '%s' is empty (0 bytes)", name);
    if (strcmp(backend, "ONNX") == 0) {
        *format = "onnx";
        return SD_OK;
    }
    if (zip_scan(blob, n, &z) != 0)
        return sd__fail(c, SD_ERR_ARG, "model '%s': TORCH models are TorchScript archives (zip files); these %zu "
                        "bytes are not one", name, n);
    if (z.code && z.constants) {
        *format = "torchscript";
        return SD_OK;
    }
    if (z.exported) return sd__fail(c, SD_ERR_MODEL, "model '%s': %s", name, TORCH_EXPORT_REFUSED);
    return sd__fail(c, SD_ERR_ARG, "model '%s': TORCH models are TorchScript archives (a zip file with code/ and "
                    "constants.pkl); this zip file is not one", name);
}

/* ---- the record --------------------------------------------------------------- */

/* What is stored besides the bytes (the spec without its version). */
typedef struct stored_spec {
    const char *kind, *name, *backend, *format;
    char device[MAX_DEVICE];
    const sd_model_options *opt;
} stored_spec;

/* A JSON string (quotes included) of s, malloc'ed. */
static char *json_string(const char *s, size_t *len)
{
    char *array, *text = (char *)s;
    size_t n;
    if (sd__json_encode_strings(&text, 1, &array, &n) != 0) return NULL;
    memmove(array, array + 1, n - 2); /* ["..."] -> "..." */
    array[n - 2] = '\0';
    *len = n - 2;
    return array;
}

/* The tensor's attrs: {"attrs": {"simdask_spec": {...}}}, checked as readers check them (UTF-8). */
static int spec_json(sd_client *c, const stored_spec *s, long long version, char **out, size_t *outlen)
{
    const sd_model_options *o = s->opt;
    size_t name_len = 0, tag_len = 0, in_len = 0, out_len = 0;
    char *name = json_string(s->name, &name_len), *tag = json_string(o->tag ? o->tag : "", &tag_len);
    char *inputs = NULL, *outputs = NULL, *json = NULL;
    int rc = SD_OK;
    if (!name || !tag || sd__json_encode_strings((char *const *)o->inputs, o->n_inputs, &inputs, &in_len) != 0 ||
        sd__json_encode_strings((char *const *)o->outputs, o->n_outputs, &outputs, &out_len) != 0)
        rc = sd__fail(c, SD_ERR_NOMEM, "out of memory storing %s '%s'", s->kind, s->name);
    static const char FMT[] = "{\"attrs\":{\"simdask_spec\":{\"kind\":\"%s\",\"name\":%s,\"backend\":\"%s\","
                              "\"format\":\"%s\",\"device\":\"%s\",\"batch_size\":%d,\"min_batch_size\":%d,"
                              "\"min_batch_timeout\":%d,\"tag\":%s,\"inputs\":%s,\"outputs\":%s,"
                              "\"version\":%lld,\"extra\":{\"stored\":\"%s\"}}}}";
    /* "stored": this store's own id, so that a serving loop tells it from an earlier one of the same version
       (versions start again at 1 after a flush) */
    unsigned char id[16];
    char stored[33];
    if (rc == SD_OK && sd__random_bytes(id, sizeof id) != 0)
        rc = sd__fail(c, SD_ERR_STORE, "no random bytes to store %s '%s'", s->kind, s->name);
    sd__hex(stored, id, sizeof id);
    size_t cap = sizeof FMT + name_len + tag_len + in_len + out_len + 200;
    if (rc == SD_OK && !(json = malloc(cap)))
        rc = sd__fail(c, SD_ERR_NOMEM, "out of memory storing %s '%s'", s->kind, s->name);
    if (rc == SD_OK) {
        int n = snprintf(json, cap, FMT, s->kind, name, s->backend, s->format, s->device, o->batch_size,
                         o->min_batch_size, o->min_batch_timeout_ms, tag, inputs, outputs, version, stored);
        char why[400];
        if (sd__json_check_attrs(json, (size_t)n, 1, why, sizeof why) != 0)
            rc = sd__fail(c, SD_ERR_ARG, "%s '%.200s': its name, tag, inputs or outputs are not UTF-8 text: %s",
                          s->kind, s->name, why);
        *outlen = (size_t)n;
    }
    free(name);
    free(tag);
    free(inputs);
    free(outputs);
    if (rc != SD_OK) free(json);
    else *out = json;
    return rc;
}

/* "simdask:<kind>:{<name>}" or "simdask:<kind>-version:{<name>}", malloc'ed. */
static int stored_key(sd_client *c, const char *kind, const char *suffix, const char *name, char **out)
{
    size_t n = strlen(kind) + strlen(suffix) + strlen(name) + 16;
    *out = malloc(n);
    if (!*out) return sd__fail(c, SD_ERR_NOMEM, "out of memory");
    snprintf(*out, n, "simdask:%s%s:{%s}", kind, suffix, name);
    return SD_OK;
}

/* INCR of the name's version counter: sent again only if none of it went out. */
static int next_version(sd_client *c, const stored_spec *s, long long *version)
{
    char *key;
    int rc = stored_key(c, s->kind, "-version", s->name, &key);
    if (rc != SD_OK) return rc;
    const char *argv[2] = {"INCR", key};
    sd_argv cmd = {2, argv, NULL};
    sd_request rq = {.doing = "counting the versions of", .name = key, .route_key = key, .n = 1,
                     .build = sd__build_argv, .ctx = &cmd, .keep_last = 1, .resend = SD_RESEND_UNSENT};
    rc = sd__exec(c, &rq);
    if (rc == SD_OK && rq.reply->type != REDIS_REPLY_INTEGER)
        rc = sd__fail(c, SD_ERR_STORE, "unexpected reply to INCR of '%s'", key);
    if (rc == SD_OK) *version = rq.reply->integer;
    if (rq.reply) freeReplyObject(rq.reply);
    free(key);
    return rc;
}

static int write_stored(sd_client *c, const stored_spec *s, const void *blob, size_t nbytes, long long *version)
{
    char *key = NULL, *json = NULL;
    size_t json_len = 0;
    long long v = 0;
    sd_twrite tw = {.long_head = NULL};
    int rc = spec_json(c, s, 0, &json, &json_len); /* the settings checked before the version moves */
    free(json);
    json = NULL;
    if (rc == SD_OK) rc = next_version(c, s, &v);
    if (rc == SD_OK) rc = spec_json(c, s, v, &json, &json_len);
    if (rc == SD_OK) rc = stored_key(c, s->kind, "", s->name, &key);
    if (rc == SD_OK) rc = sd__twrite_init_attrs(c, &tw, key, blob, SD_UINT8, 1, &nbytes, SD_ORDER_C, json, json_len);
    if (rc == SD_OK) {
        sd_request rq = {.doing = "storing", .name = key, .route_key = key, .n = 1, .build = sd__build_head, .ctx = &tw};
        rc = sd__write_tensors(c, &tw, 1, &rq);
    }
    if (rc == SD_OK && version) *version = v;
    sd__twrite_free(&tw);
    free(key);
    free(json);
    return rc;
}

/* ---- models ------------------------------------------------------------------- */

/* sd_set_model under the stored name (sd__model_name). */
static int set_model(sd_client *c, const char *name, const void *model, size_t nbytes, const char *backend,
                     const sd_model_options *opt, long long *version)
{
    sd_model_options defaults;
    char normal[8] = "";
    stored_spec s = {.kind = "model", .name = name, .backend = normal, .opt = opt};
    int rc = sd__check_name(c, "model name", name);
    if (rc != SD_OK) return rc;
    if (!opt) {
        sd_model_options_init(&defaults);
        s.opt = opt = &defaults;
    }
    for (size_t i = 0; backend && backend[i] && i < sizeof normal - 1; i++)
        normal[i] = (char)toupper((unsigned char)backend[i]);
    if (!backend || strlen(backend) >= sizeof normal || (strcmp(normal, "TORCH") != 0 && strcmp(normal, "ONNX") != 0))
        return sd__fail(c, SD_ERR_ARG, "model '%s': backend must be 'TORCH' or 'ONNX', got '%.40s'", name,
                        backend ? backend : "(NULL)");
    if (opt->batch_size < 0 || opt->min_batch_size < 0 || opt->min_batch_timeout_ms < 0)
        return sd__fail(c, SD_ERR_ARG, "model '%s': batch_size, min_batch_size and min_batch_timeout_ms must be >= 0",
                        name);
    if (opt->batch_size && opt->min_batch_size > opt->batch_size)
        return sd__fail(c, SD_ERR_ARG, "model '%s': min_batch_size (%d) exceeds batch_size (%d)", name,
                        opt->min_batch_size, opt->batch_size);
    if ((opt->n_inputs && !opt->inputs) || (opt->n_outputs && !opt->outputs))
        return sd__fail(c, SD_ERR_ARG, "model '%s': inputs or outputs is NULL", name);
    for (size_t i = 0; i < opt->n_inputs; i++)
        if (!opt->inputs[i]) return sd__fail(c, SD_ERR_ARG, "model '%s': input name %zu is NULL", name, i);
    for (size_t i = 0; i < opt->n_outputs; i++)
        if (!opt->outputs[i]) return sd__fail(c, SD_ERR_ARG, "model '%s': output name %zu is NULL", name, i);
    if (nbytes && !model) return sd__fail(c, SD_ERR_ARG, "model '%s': model is NULL", name);
    if ((rc = check_device(c, "model", name, opt->device, s.device)) != SD_OK) return rc;
    if ((rc = model_format(c, name, model, nbytes, normal, &s.format)) != SD_OK) return rc;
    return write_stored(c, &s, model, nbytes, version);
}

int sd_set_model(sd_client *c, const char *name, const void *model, size_t nbytes, const char *backend,
                 const sd_model_options *opt, long long *version)
{
    SD_ENTER(c);
    char *stored;
    int rc = sd__model_name(c, "model name", 1, name, &stored);
    if (rc != SD_OK) return rc;
    rc = set_model(c, stored, model, nbytes, backend, opt, version);
    free(stored);
    return rc;
}

/* The whole file at path, malloc'ed (at least one byte, so never NULL on success). */
static int read_file(sd_client *c, const char *what, const char *path, char **out, size_t *len)
{
    if (!path) return sd__fail(c, SD_ERR_ARG, "%s file path is NULL", what);
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int err = f ? 0 : errno;
    while (f && !err) {
        if (n == cap) {
            char *more = realloc(buf, cap = cap ? 2 * cap : 1 << 16);
            if (!more) {
                fclose(f);
                free(buf);
                return sd__fail(c, SD_ERR_NOMEM, "out of memory reading %s file '%s'", what, path);
            }
            buf = more;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (ferror(f)) err = errno ? errno : EIO;
        if (feof(f)) break;
    }
    if (f) fclose(f);
    if (err) {
        free(buf);
        return sd__fail(c, SD_ERR_ARG, "cannot read %s file '%s': %s", what, path, strerror(err));
    }
    *out = buf;
    *len = n;
    return SD_OK;
}

int sd_set_model_from_file(sd_client *c, const char *name, const char *path, const char *backend,
                           const sd_model_options *opt, long long *version)
{
    SD_ENTER(c);
    char *blob;
    size_t n;
    int rc = read_file(c, "model", path, &blob, &n);
    if (rc != SD_OK) return rc;
    rc = sd_set_model(c, name, blob, n, backend, opt, version);
    free(blob);
    return rc;
}

/* ---- scripts ------------------------------------------------------------------ */

static int set_script(sd_client *c, const char *name, const char *source, size_t len, const char *device,
                      long long *version)
{
    sd_model_options defaults;
    sd_model_options_init(&defaults);
    stored_spec s = {.kind = "script", .name = name, .backend = "TORCH", .format = "torchscript-source",
                     .opt = &defaults};
    int rc = sd__check_name(c, "script name", name);
    if (rc != SD_OK) return rc;
    size_t blank = 0;
    while (blank < len && isspace((unsigned char)source[blank])) blank++;
    if (blank == len) return sd__fail(c, SD_ERR_ARG, "script '%s' must be non-empty TorchScript source text", name);
    if ((rc = check_device(c, "script", name, device, s.device)) != SD_OK) return rc;
    return write_stored(c, &s, source, len, version);
}

int sd_set_script(sd_client *c, const char *name, const char *source, const char *device, long long *version)
{
    SD_ENTER(c);
    char *stored;
    int rc = sd__model_name(c, "script name", 1, name, &stored);
    if (rc != SD_OK) return rc;
    rc = set_script(c, stored, source ? source : "", source ? strlen(source) : 0, device, version);
    free(stored);
    return rc;
}

int sd_set_script_from_file(sd_client *c, const char *name, const char *path, const char *device,
                            long long *version)
{
    SD_ENTER(c);
    char *source, *stored;
    size_t n;
    int rc = sd__model_name(c, "script name", 1, name, &stored);
    if (rc != SD_OK) return rc;
    if ((rc = read_file(c, "script", path, &source, &n)) == SD_OK) {
        rc = set_script(c, stored, source, n, device, version);
        free(source);
    }
    free(stored);
    return rc;
}

/* ---- fetching ----------------------------------------------------------------- */

/* The stored bytes of a model or script (`kind`) under its stored name, malloc'ed with one NUL byte more. */
static int read_stored(sd_client *c, const char *kind, const char *name, void **out, size_t *nbytes)
{
    char *stored, *key = NULL;
    int rc = sd__model_name(c, strcmp(kind, "model") == 0 ? "model name" : "script name", 0, name, &stored);
    if (rc != SD_OK) return rc;
    sd_alloc_dest dest = {NULL};
    sd_tinfo t;
    if ((rc = stored_key(c, kind, "", stored, &key)) == SD_OK) rc = sd__tensor_read(c, key, sd__dest_alloc, &dest, &t);
    if (rc == SD_ERR_NOT_FOUND)
        rc = sd__fail(c, SD_ERR_NOT_FOUND, "%s '%s' does not exist in the store (key '%s')", kind, stored, key);
    else if (rc == SD_OK && (t.dtype != SD_UINT8 || t.ndim != 1))
        rc = sd__fail(c, SD_ERR_FORMAT, "%s '%s' (key '%s') is not stored as bytes", kind, stored, key);
    if (rc == SD_OK) {
        unsigned char *bytes = realloc(dest.buf, t.nbytes + 1);
        if (!bytes) rc = sd__fail(c, SD_ERR_NOMEM, "out of memory reading %s '%s'", kind, stored);
        else {
            bytes[t.nbytes] = '\0';
            *out = bytes;
            *nbytes = t.nbytes;
            dest.buf = NULL;
        }
    }
    free(dest.buf);
    free(key);
    free(stored);
    return rc;
}

int sd_get_model(sd_client *c, const char *name, void **model, size_t *nbytes)
{
    SD_ENTER(c);
    if (!model || !nbytes) return sd__fail(c, SD_ERR_ARG, "model or nbytes is NULL");
    *model = NULL;
    *nbytes = 0;
    return read_stored(c, "model", name, model, nbytes);
}

int sd_get_script(sd_client *c, const char *name, char **source)
{
    SD_ENTER(c);
    if (!source) return sd__fail(c, SD_ERR_ARG, "source is NULL");
    *source = NULL;
    size_t n;
    return read_stored(c, "script", name, (void **)source, &n);
}

/* ---- exists, delete ----------------------------------------------------------- */

/* An sd_check_fn: whether a model or a script is stored under the stored name (ctx). */
static int stored_exists(sd_client *c, void *ctx, int *exists)
{
    const char *name = ctx;
    int rc = SD_OK;
    *exists = 0;
    /* one EXISTS each: the two keys share a slot only when the name's braces leave the tag alone */
    for (int i = 0; i < 2 && rc == SD_OK && !*exists; i++) {
        char *key;
        redisReply *r;
        if ((rc = stored_key(c, i ? "script" : "model", "", name, &key)) != SD_OK) break;
        const char *argv[2] = {"EXISTS", key};
        rc = sd__exec_command(c, "checking model", key, 2, argv, NULL, &r);
        if (rc == SD_OK) {
            *exists = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
            freeReplyObject(r);
        }
        free(key);
    }
    return rc;
}

int sd_model_exists(sd_client *c, const char *name, int *exists)
{
    SD_ENTER(c);
    if (!exists) return sd__fail(c, SD_ERR_ARG, "exists is NULL");
    char *stored;
    int rc = sd__model_name(c, "model name", 0, name, &stored);
    if (rc != SD_OK) return rc;
    rc = stored_exists(c, stored, exists);
    free(stored);
    return rc;
}

int sd_poll_model(sd_client *c, const char *name, int interval_ms, int tries, int *exists)
{
    SD_ENTER(c);
    char *stored;
    int rc = sd__model_name(c, "model name", 0, name, &stored);
    if (rc != SD_OK) return rc;
    rc = sd__poll(c, interval_ms, tries, stored_exists, stored, exists);
    free(stored);
    return rc;
}

static int delete_stored(sd_client *c, const char *kind, const char *given)
{
    char *key, *name;
    int rc = sd__model_name(c, strcmp(kind, "model") == 0 ? "model name" : "script name", 0, given, &name);
    if (rc != SD_OK) return rc;
    if ((rc = stored_key(c, kind, "", name, &key)) != SD_OK) {
        free(name);
        return rc;
    }
    sd_request rq = {.doing = "deleting", .name = key, .route_key = key, .n = 1, .build = sd__build_delete, .ctx = key,
                     .keep_last = 1};
    rc = sd__exec(c, &rq);
    if (rc == SD_OK) {
        /* EXEC's reply ends with UNLINK's count; a key without a valid tag answers UNLINK alone */
        const redisReply *r = rq.reply;
        if (r->type == REDIS_REPLY_ARRAY && r->elements) r = r->element[r->elements - 1];
        if (r->type != REDIS_REPLY_INTEGER || r->integer == 0)
            rc = sd__fail(c, SD_ERR_NOT_FOUND, "%s '%s' does not exist in the store (key '%s')", kind, name, key);
    }
    if (rq.reply) freeReplyObject(rq.reply);
    free(key);
    free(name);
    return rc;
}

int sd_delete_model(sd_client *c, const char *name)
{
    SD_ENTER(c);
    return delete_stored(c, "model", name);
}

int sd_delete_script(sd_client *c, const char *name)
{
    SD_ENTER(c);
    return delete_stored(c, "script", name);
}
