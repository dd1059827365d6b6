/*
 * sr_model.c: models and scripts (c_client.h) through simdask's inference
 * service.
 *
 * Backends TORCH and ONNX; TF and TFLITE (RedisAI's TensorFlow backends) are
 * refused with SRParameterError naming what is supported. The _multigpu
 * variants store one copy per GPU, "<name>.GPU:<i>" with device "GPU:<i>"
 * for i = first_gpu .. first_gpu + num_gpus - 1 (SmartRedis's key names);
 * run_*_multigpu runs the copy on GPU first_gpu + offset % num_gpus, so that
 * the ranks of a job spread over the GPUs, and delete_*_multigpu deletes
 * every copy. A serving loop serves a model on the GPU its device names
 * (docs/smartredis.md). run_model and run_script wait at most
 * SR_MODEL_TIMEOUT ms, read at each run (unset: simdask's run timeout,
 * SIMDASK_RUN_TIMEOUT); with no serving loop running, or an unknown model,
 * they fail at once (SRRuntimeError) saying what to start.
 */
#include "sr_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A list of names given as pointers and lengths, as NUL-terminated strings. */
typedef struct names {
    char **v;
    size_t n;
} names;

static void free_names(names *l)
{
    for (size_t i = 0; l->v && i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* skip_blank: a list of one empty name means none (SmartRedis's C++ default for the TensorFlow node names). */
static SRError make_names(const char **p, const size_t *lens, size_t n, int skip_blank, const char *what,
                          const char *where, names *out)
{
    *out = (names){NULL, 0};
    if (n == 0 || (skip_blank && n == 1 && lens && lens[0] == 0)) return SRNoError;
    if (!p || !lens) return sr__fail(SRParameterError, where, "%s or their lengths are NULL", what);
    if (!(out->v = calloc(n, sizeof *out->v))) return sr__fail(SRBadAllocError, where, "out of memory");
    for (out->n = 0; out->n < n; out->n++) {
        SRError rc = sr__string(p[out->n], lens[out->n], what, where, &out->v[out->n]);
        if (rc != SRNoError) {
            free_names(out);
            return rc;
        }
    }
    return SRNoError;
}

/* backend TORCH or ONNX (any case); TF and TFLITE refused by name. */
static SRError check_backend(const char *backend, const char *where)
{
    if (strcasecmp(backend, "TF") == 0 || strcasecmp(backend, "TFLITE") == 0)
        return sr__fail(SRParameterError, where, "backend %s (TensorFlow) is not supported by simdask's inference "
                        "service: store the model as TORCH (TorchScript) or ONNX (e.g. tf2onnx)", backend);
    return SRNoError;
}

static SRError check_gpus(int first_gpu, int num_gpus, const char *where)
{
    if (first_gpu < 0) return sr__fail(SRParameterError, where, "first_gpu must be >= 0, got %d", first_gpu);
    if (num_gpus <= 0) return sr__fail(SRParameterError, where, "num_gpus must be > 0, got %d", num_gpus);
    return SRNoError;
}

/* "<name>.GPU:<gpu>" (malloc'ed) and "GPU:<gpu>". */
static SRError gpu_name(const char *name, int gpu, char device[24], char **out, const char *where)
{
    snprintf(device, 24, "GPU:%d", gpu);
    size_t n = strlen(name) + 32;
    if (!(*out = malloc(n))) return sr__fail(SRBadAllocError, where, "out of memory");
    snprintf(*out, n, "%s.%s", name, device);
    return SRNoError;
}

/* What every set_model form takes besides the client, the name and the bytes. */
typedef struct model_args {
    const char *backend;
    size_t backend_length;
    int batch_size, min_batch_size, min_batch_timeout;
    const char *tag;
    size_t tag_length;
    const char **inputs;
    const size_t *input_lengths;
    size_t n_inputs;
    const char **outputs;
    const size_t *output_lengths;
    size_t n_outputs;
} model_args;

/* Stores the model under each (name, device) pair: one pair, or one per GPU. */
static SRError store_model(void *c_client, const char *name, size_t name_length, const void *model,
                           size_t model_length, const char *model_file, const char *device, int first_gpu,
                           int num_gpus, const model_args *a, const char *where)
{
    sr_client *c = sr__client(c_client, where);
    if (!c) return SRParameterError;
    char *s = NULL, *backend = NULL, *tag = NULL;
    names in = {NULL, 0}, out = {NULL, 0};
    SRError rc = sr__string(name, name_length, "name", where, &s);
    if (rc == SRNoError) rc = sr__string(a->backend, a->backend_length, "backend", where, &backend);
    if (rc == SRNoError) rc = check_backend(backend, where);
    if (rc == SRNoError && a->tag) rc = sr__string(a->tag, a->tag_length, "tag", where, &tag);
    if (rc == SRNoError) rc = make_names(a->inputs, a->input_lengths, a->n_inputs, 1, "inputs", where, &in);
    if (rc == SRNoError) rc = make_names(a->outputs, a->output_lengths, a->n_outputs, 1, "outputs", where, &out);
    if (rc == SRNoError && !model_file && !model) rc = sr__fail(SRParameterError, where, "model is NULL");
    sd_model_options opt;
    sd_model_options_init(&opt);
    opt.batch_size = a->batch_size;
    opt.min_batch_size = a->min_batch_size;
    opt.min_batch_timeout_ms = a->min_batch_timeout;
    opt.tag = tag;
    opt.n_inputs = in.n;
    opt.inputs = (const char *const *)in.v;
    opt.n_outputs = out.n;
    opt.outputs = (const char *const *)out.v;
    for (int i = 0; rc == SRNoError && i < (device ? 1 : num_gpus); i++) {
        char gpu_device[24], *stored = NULL;
        if (!device) rc = gpu_name(s, first_gpu + i, gpu_device, &stored, where);
        if (rc != SRNoError) break;
        opt.device = device ? device : gpu_device;
        const char *key = device ? s : stored;
        int status = model_file ? sd_set_model_from_file(c->sd, key, model_file, backend, &opt, NULL)
                                : sd_set_model(c->sd, key, model, model_length, backend, &opt, NULL);
        rc = sr__check(c, status, where);
        free(stored);
    }
    free_names(&in);
    free_names(&out);
    free(tag);
    free(backend);
    free(s);
    return rc;
}

#define MODEL_ARGS                                                                                               \
    {backend, backend_length, batch_size, min_batch_size, min_batch_timeout, tag, tag_length, inputs,          \
     input_lengths, n_inputs, outputs, output_lengths, n_outputs}

SRError set_model_from_file(void *c_client, const char *name, const size_t name_length, const char *model_file,
                            const size_t model_file_length, const char *backend, const size_t backend_length,
                            const char *device, const size_t device_length, const int batch_size,
                            const int min_batch_size, const int min_batch_timeout, const char *tag,
                            const size_t tag_length, const char **inputs, const size_t *input_lengths,
                            const size_t n_inputs, const char **outputs, const size_t *output_lengths,
                            const size_t n_outputs)
{
    static const char WHERE[] = "set_model_from_file";
    model_args a = MODEL_ARGS;
    char *path, *dev = NULL;
    SRError rc = sr__string(model_file, model_file_length, "model_file", WHERE, &path);
    if (rc == SRNoError) rc = sr__string(device, device_length, "device", WHERE, &dev);
    if (rc == SRNoError) rc = store_model(c_client, name, name_length, NULL, 0, path, dev, 0, 1, &a, WHERE);
    free(dev);
    free(path);
    return rc;
}

SRError set_model_from_file_multigpu(void *c_client, const char *name, const size_t name_length,
                                     const char *model_file, const size_t model_file_length, const char *backend,
                                     const size_t backend_length, const int first_gpu, const int num_gpus,
                                     const int batch_size, const int min_batch_size, const int min_batch_timeout,
                                     const char *tag, const size_t tag_length, const char **inputs,
                                     const size_t *input_lengths, const size_t n_inputs, const char **outputs,
                                     const size_t *output_lengths, const size_t n_outputs)
{
    static const char WHERE[] = "set_model_from_file_multigpu";
    model_args a = MODEL_ARGS;
    char *path;
    SRError rc = check_gpus(first_gpu, num_gpus, WHERE);
    if (rc == SRNoError) rc = sr__string(model_file, model_file_length, "model_file", WHERE, &path);
    if (rc != SRNoError) return rc;
    rc = store_model(c_client, name, name_length, NULL, 0, path, NULL, first_gpu, num_gpus, &a, WHERE);
    free(path);
    return rc;
}

SRError set_model(void *c_client, const char *name, const size_t name_length, const char *model,
                  const size_t model_length, const char *backend, const size_t backend_length, const char *device,
                  const size_t device_length, const int batch_size, const int min_batch_size,
                  const int min_batch_timeout, const char *tag, const size_t tag_length, const char **inputs,
                  const size_t *input_lengths, const size_t n_inputs, const char **outputs,
                  const size_t *output_lengths, const size_t n_outputs)
{
    static const char WHERE[] = "set_model";
    model_args a = MODEL_ARGS;
    char *dev;
    SRError rc = sr__string(device, device_length, "device", WHERE, &dev);
    if (rc != SRNoError) return rc;
    rc = store_model(c_client, name, name_length, model, model_length, NULL, dev, 0, 1, &a, WHERE);
    free(dev);
    return rc;
}

SRError set_model_multigpu(void *c_client, const char *name, const size_t name_length, const char *model,
                           const size_t model_length, const char *backend, const size_t backend_length,
                           const int first_gpu, const int num_gpus, const int batch_size, const int min_batch_size,
                           const int min_batch_timeout, const char *tag, const size_t tag_length,
                           const char **inputs, const size_t *input_lengths, const size_t n_inputs,
                           const char **outputs, const size_t *output_lengths, const size_t n_outputs)
{
    static const char WHERE[] = "set_model_multigpu";
    model_args a = MODEL_ARGS;
    SRError rc = check_gpus(first_gpu, num_gpus, WHERE);
    if (rc != SRNoError) return rc;
    return store_model(c_client, name, name_length, model, model_length, NULL, NULL, first_gpu, num_gpus, &a, WHERE);
}

/* ---- scripts ------------------------------------------------------------------------- */

static SRError store_script(void *c_client, const char *name, size_t name_length, const char *script,
                            size_t script_length, const char *script_file, size_t script_file_length,
                            const char *device, size_t device_length, int first_gpu, int num_gpus, const char *where)
{
    sr_client *c = sr__client(c_client, where);
    if (!c) return SRParameterError;
    char *s = NULL, *text = NULL, *path = NULL, *dev = NULL;
    SRError rc = sr__string(name, name_length, "name", where, &s);
    if (rc == SRNoError && script_file) rc = sr__string(script_file, script_file_length, "script_file", where, &path);
    else if (rc == SRNoError) rc = sr__string(script, script_length, "script", where, &text);
    if (rc == SRNoError && device) rc = sr__string(device, device_length, "device", where, &dev);
    for (int i = 0; rc == SRNoError && i < (dev ? 1 : num_gpus); i++) {
        char gpu_device[24], *stored = NULL;
        if (!dev) rc = gpu_name(s, first_gpu + i, gpu_device, &stored, where);
        if (rc != SRNoError) break;
        const char *key = dev ? s : stored, *on = dev ? dev : gpu_device;
        int status = path ? sd_set_script_from_file(c->sd, key, path, on, NULL)
                          : sd_set_script(c->sd, key, text, on, NULL);
        rc = sr__check(c, status, where);
        free(stored);
    }
    free(dev);
    free(path);
    free(text);
    free(s);
    return rc;
}

SRError set_script_from_file(void *c_client, const char *name, const size_t name_length, const char *device,
                             const size_t device_length, const char *script_file, const size_t script_file_length)
{
    static const char WHERE[] = "set_script_from_file";
    if (!device) return sr__fail(SRParameterError, WHERE, "device is NULL");
    if (!script_file) return sr__fail(SRParameterError, WHERE, "script_file is NULL");
    return store_script(c_client, name, name_length, NULL, 0, script_file, script_file_length, device,
                        device_length, 0, 1, WHERE);
}

SRError set_script_from_file_multigpu(void *c_client, const char *name, const size_t name_length,
                                      const char *script_file, const size_t script_file_length, const int first_gpu,
                                      const int num_gpus)
{
    static const char WHERE[] = "set_script_from_file_multigpu";
    SRError rc = check_gpus(first_gpu, num_gpus, WHERE);
    if (rc == SRNoError && !script_file) rc = sr__fail(SRParameterError, WHERE, "script_file is NULL");
    if (rc != SRNoError) return rc;
    return store_script(c_client, name, name_length, NULL, 0, script_file, script_file_length, NULL, 0, first_gpu,
                        num_gpus, WHERE);
}

SRError set_script(void *c_client, const char *name, const size_t name_length, const char *device,
                   const size_t device_length, const char *script, const size_t script_length)
{
    static const char WHERE[] = "set_script";
    if (!device) return sr__fail(SRParameterError, WHERE, "device is NULL");
    return store_script(c_client, name, name_length, script, script_length, NULL, 0, device, device_length, 0, 1,
                        WHERE);
}

SRError set_script_multigpu(void *c_client, const char *name, const size_t name_length, const char *script,
                            const size_t script_length, const int first_gpu, const int num_gpus)
{
    static const char WHERE[] = "set_script_multigpu";
    SRError rc = check_gpus(first_gpu, num_gpus, WHERE);
    if (rc != SRNoError) return rc;
    return store_script(c_client, name, name_length, script, script_length, NULL, 0, NULL, 0, first_gpu, num_gpus,
                        WHERE);
}

/* ---- fetching ------------------------------------------------------------------------- */

SRError get_model(void *c_client, const char *name, const size_t name_length, size_t *model_length,
                  const char **model)
{
    static const char WHERE[] = "get_model";
    sr_client *c = sr__client(c_client, WHERE);
    if (!c) return SRParameterError;
    if (!model_length || !model) return sr__fail(SRParameterError, WHERE, "model_length or model is NULL");
    char *s;
    void *bytes = NULL;
    size_t n = 0;
    SRError rc = sr__string(name, name_length, "name", WHERE, &s);
    if (rc == SRNoError) rc = sr__check(c, sd_get_model(c->sd, s, &bytes, &n), WHERE);
    if (rc == SRNoError && sr__keep(&c->obj, bytes, sd_free) != 0) {
        sd_free(bytes);
        rc = sr__fail(SRBadAllocError, WHERE, "out of memory");
    }
    if (rc == SRNoError) {
        *model = bytes;
        *model_length = n;
    }
    free(s);
    return rc;
}

SRError get_script(void *c_client, const char *name, const size_t name_length, const char **script,
                   size_t *script_length)
{
    static const char WHERE[] = "get_script";
    sr_client *c = sr__client(c_client, WHERE);
    if (!c) return SRParameterError;
    if (!script || !script_length) return sr__fail(SRParameterError, WHERE, "script or script_length is NULL");
    char *s, *source = NULL;
    SRError rc = sr__string(name, name_length, "name", WHERE, &s);
    if (rc == SRNoError) rc = sr__check(c, sd_get_script(c->sd, s, &source), WHERE);
    if (rc == SRNoError && sr__keep(&c->obj, source, sd_free) != 0) {
        sd_free(source);
        rc = sr__fail(SRBadAllocError, WHERE, "out of memory");
    }
    if (rc == SRNoError) {
        *script = source;
        *script_length = strlen(source);
    }
    free(s);
    return rc;
}

/* ---- running -------------------------------------------------------------------------- */

/* SR_MODEL_TIMEOUT in ms (0 when unset: the client's run timeout); SRParameterError when it is no integer > 0. */
static SRError model_timeout(int *ms, const char *where)
{
    const char *text = getenv("SR_MODEL_TIMEOUT");
    *ms = 0;
    if (!text || !*text) return SRNoError;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\n') end++;
    if (end == text || *end || errno || v <= 0 || v > INT_MAX)
        return sr__fail(SRParameterError, where, "SR_MODEL_TIMEOUT='%.100s' must be an integer from 1 to %d (ms)",
                        text, INT_MAX);
    *ms = (int)v;
    return SRNoError;
}

/* Runs model `name` (function NULL) or function `function` of script `name`. */
static SRError run(sr_client *c, const char *name, const char *function, const char **inputs,
                   const size_t *input_lengths, size_t n_inputs, const char **outputs, const size_t *output_lengths,
                   size_t n_outputs, const char *where)
{
    names in, out;
    int timeout_ms;
    SRError rc = model_timeout(&timeout_ms, where);
    if (rc != SRNoError) return rc;
    rc = make_names(inputs, input_lengths, n_inputs, 0, "inputs", where, &in);
    if (rc == SRNoError) rc = make_names(outputs, output_lengths, n_outputs, 0, "outputs", where, &out);
    if (rc != SRNoError) {
        free_names(&in);
        return rc;
    }
    const char *const *iv = (const char *const *)in.v, *const *ov = (const char *const *)out.v;
    int status = function ? sd_run_script(c->sd, name, function, in.n, iv, out.n, ov, timeout_ms)
                          : sd_run_model(c->sd, name, in.n, iv, out.n, ov, timeout_ms);
    rc = sr__check(c, status, where);
    free_names(&in);
    free_names(&out);
    return rc;
}

/* The client, the name (with ".GPU:<first_gpu + offset % num_gpus>" when num_gpus > 0) and the function. */
static SRError run_named(void *c_client, const char *name, size_t name_length, const char *function,
                         size_t function_length, const char **inputs, const size_t *input_lengths, size_t n_inputs,
                         const char **outputs, const size_t *output_lengths, size_t n_outputs, int offset,
                         int first_gpu, int num_gpus, const char *where)
{
    sr_client *c = sr__client(c_client, where);
    if (!c) return SRParameterError;
    char *s, *fn = NULL, *stored = NULL, device[24];
    SRError rc = sr__string(name, name_length, "name", where, &s);
    if (rc == SRNoError && function) rc = sr__string(function, function_length, "function", where, &fn);
    if (rc == SRNoError && num_gpus) {
        rc = check_gpus(first_gpu, num_gpus, where);
        if (rc == SRNoError && offset < 0) rc = sr__fail(SRParameterError, where, "offset must be >= 0, got %d", offset);
        if (rc == SRNoError) rc = gpu_name(s, first_gpu + offset % num_gpus, device, &stored, where);
    }
    if (rc == SRNoError)
        rc = run(c, stored ? stored : s, fn, inputs, input_lengths, n_inputs, outputs, output_lengths, n_outputs,
                 where);
    free(stored);
    free(fn);
    free(s);
    return rc;
}

SRError run_script(void *c_client, const char *name, const size_t name_length, const char *function,
                   const size_t function_length, const char **inputs, const size_t *input_lengths,
                   const size_t n_inputs, const char **outputs, const size_t *output_lengths, const size_t n_outputs)
{
    static const char WHERE[] = "run_script";
    if (!function) return sr__fail(SRParameterError, WHERE, "function is NULL");
    return run_named(c_client, name, name_length, function, function_length, inputs, input_lengths, n_inputs,
                     outputs, output_lengths, n_outputs, 0, 0, 0, WHERE);
}

SRError run_script_multigpu(void *c_client, const char *name, const size_t name_length, const char *function,
                            const size_t function_length, const char **inputs, const size_t *input_lengths,
                            const size_t n_inputs, const char **outputs, const size_t *output_lengths,
                            const size_t n_outputs, const int offset, const int first_gpu, const int num_gpus)
{
    static const char WHERE[] = "run_script_multigpu";
    if (!function) return sr__fail(SRParameterError, WHERE, "function is NULL");
    if (num_gpus <= 0) return check_gpus(first_gpu, num_gpus, WHERE);
    return run_named(c_client, name, name_length, function, function_length, inputs, input_lengths, n_inputs,
                     outputs, output_lengths, n_outputs, offset, first_gpu, num_gpus, WHERE);
}

SRError run_model(void *c_client, const char *name, const size_t name_length, const char **inputs,
                  const size_t *input_lengths, const size_t n_inputs, const char **outputs,
                  const size_t *output_lengths, const size_t n_outputs)
{
    return run_named(c_client, name, name_length, NULL, 0, inputs, input_lengths, n_inputs, outputs, output_lengths,
                     n_outputs, 0, 0, 0, "run_model");
}

SRError run_model_multigpu(void *c_client, const char *name, const size_t name_length, const char **inputs,
                           const size_t *input_lengths, const size_t n_inputs, const char **outputs,
                           const size_t *output_lengths, const size_t n_outputs, const int offset,
                           const int first_gpu, const int num_gpus)
{
    static const char WHERE[] = "run_model_multigpu";
    if (num_gpus <= 0) return check_gpus(first_gpu, num_gpus, WHERE);
    return run_named(c_client, name, name_length, NULL, 0, inputs, input_lengths, n_inputs, outputs, output_lengths,
                     n_outputs, offset, first_gpu, num_gpus, WHERE);
}

/* ---- deleting ------------------------------------------------------------------------- */

/* Deletes model or script `name` (num_gpus 0), or its copies on GPUs first_gpu .. first_gpu + num_gpus - 1. */
static SRError delete_named(void *c_client, const char *name, size_t name_length, int script, int first_gpu,
                            int num_gpus, const char *where)
{
    sr_client *c = sr__client(c_client, where);
    if (!c) return SRParameterError;
    char *s;
    SRError rc = sr__string(name, name_length, "name", where, &s);
    for (int i = 0; rc == SRNoError && i < (num_gpus ? num_gpus : 1); i++) {
        char device[24], *stored = NULL;
        if (num_gpus && (rc = gpu_name(s, first_gpu + i, device, &stored, where)) != SRNoError) break;
        const char *key = stored ? stored : s;
        rc = sr__check(c, script ? sd_delete_script(c->sd, key) : sd_delete_model(c->sd, key), where);
        free(stored);
    }
    free(s);
    return rc;
}

SRError delete_model(void *c_client, const char *name, const size_t name_length)
{
    return delete_named(c_client, name, name_length, 0, 0, 0, "delete_model");
}

SRError delete_model_multigpu(void *c_client, const char *name, const size_t name_length, const int first_gpu,
                              const int num_gpus)
{
    SRError rc = check_gpus(first_gpu, num_gpus, "delete_model_multigpu");
    return rc != SRNoError ? rc : delete_named(c_client, name, name_length, 0, first_gpu, num_gpus,
                                               "delete_model_multigpu");
}

SRError delete_script(void *c_client, const char *name, const size_t name_length)
{
    return delete_named(c_client, name, name_length, 1, 0, 0, "delete_script");
}

SRError delete_script_multigpu(void *c_client, const char *name, const size_t name_length, const int first_gpu,
                               const int num_gpus)
{
    SRError rc = check_gpus(first_gpu, num_gpus, "delete_script_multigpu");
    return rc != SRNoError ? rc : delete_named(c_client, name, name_length, 1, first_gpu, num_gpus,
                                               "delete_script_multigpu");
}
