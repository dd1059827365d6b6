/*
 * sr_list.c: a client's datasets (put, get, delete) and aggregation lists.
 */
#include "sr_internal.h"

#include <stdlib.h>
#include <string.h>

SRError put_dataset(void *c_client, void *dataset)
{
    static const char WHERE[] = "put_dataset";
    sr_client *c = sr__client(c_client, WHERE);
    if (!c) return SRParameterError;
    sr_dataset *d = sr__dataset(dataset, WHERE);
    if (!d) return SRParameterError;
    return sr__check(c, sd_put_dataset(c->sd, d->sd), WHERE);
}

SRError get_dataset(void *c_client, const char *name, const size_t name_length, void **dataset)
{
    static const char WHERE[] = "get_dataset";
    sr_client *c = sr__client(c_client, WHERE);
    if (!c) return SRParameterError;
    if (!dataset) return sr__fail(SRParameterError, WHERE, "dataset is NULL");
    *dataset = NULL;
    char *s;
    SRError rc = sr__string(name, name_length, "name", WHERE, &s);
    sd_dataset *sd = NULL;
    if (rc == SRNoError) rc = sr__check(c, sd_get_dataset(c->sd, s, &sd), WHERE);
    if (rc == SRNoError && !(*dataset = sr__wrap_dataset(sd))) {
        sd_dataset_free(sd);
        rc = sr__fail(SRBadAllocError, WHERE, "out of memory reading dataset '%s'", s);
    }
    free(s);
    return rc;
}

SRError delete_dataset(void *c_client, const char *name, const size_t name_length)
{
    static const char WHERE[] = "delete_dataset";
    sr_client *c = sr__client(c_client, WHERE);
    if (!c) return SRParameterError;
    char *s;
    SRError rc = sr__string(name, name_length, "name", WHERE, &s);
    if (rc == SRNoError) rc = sr__check(c, sd_delete_dataset(c->sd, s), WHERE);
    free(s);
    return rc;
}

/* ---- aggregation lists ------------------------------------------------------------ */

/* The client and the list's name as a string. */
static SRError begin(void *c_client, const char *name, size_t len, const char *where, sr_client **c, char **s)
{
    *s = NULL;
    if (!(*c = sr__client(c_client, where))) return SRParameterError;
    return sr__string(name, len, "list_name", where, s);
}

SRError append_to_list(void *c_client, const char *list_name, const size_t list_name_length, const void *dataset)
{
    static const char WHERE[] = "append_to_list";
    sr_client *c;
    char *s;
    SRError rc = begin(c_client, list_name, list_name_length, WHERE, &c, &s);
    sr_dataset *d = rc == SRNoError ? sr__dataset(dataset, WHERE) : NULL;
    if (rc == SRNoError && !d) rc = SRParameterError;
    if (rc == SRNoError) rc = sr__check(c, sd_append_to_list(c->sd, s, d->sd), WHERE);
    free(s);
    return rc;
}

SRError delete_list(void *c_client, const char *list_name, const size_t list_name_length)
{
    static const char WHERE[] = "delete_list";
    sr_client *c;
    char *s;
    SRError rc = begin(c_client, list_name, list_name_length, WHERE, &c, &s);
    if (rc == SRNoError) rc = sr__check(c, sd_delete_list(c->sd, s), WHERE);
    free(s);
    return rc;
}

SRError get_list_length(void *c_client, const char *list_name, const size_t list_name_length, int *result_length)
{
    static const char WHERE[] = "get_list_length";
    sr_client *c;
    char *s;
    size_t n = 0;
    SRError rc = begin(c_client, list_name, list_name_length, WHERE, &c, &s);
    if (rc == SRNoError && !result_length) rc = sr__fail(SRParameterError, WHERE, "result_length is NULL");
    if (rc == SRNoError) rc = sr__check(c, sd_get_list_length(c->sd, s, &n), WHERE);
    if (rc == SRNoError) *result_length = (int)n;
    free(s);
    return rc;
}

typedef int (*length_poll)(sd_client *, const char *, size_t, int, int, int *);

static SRError poll_length(void *c_client, const char *name, size_t len, int list_length, int poll_frequency_ms,
                           int num_tries, bool *poll_result, length_poll poll, const char *where)
{
    sr_client *c;
    char *s;
    int reached = 0;
    SRError rc = begin(c_client, name, len, where, &c, &s);
    if (rc == SRNoError && !poll_result) rc = sr__fail(SRParameterError, where, "poll_result is NULL");
    if (rc == SRNoError && list_length < 0)
        rc = sr__fail(SRParameterError, where, "list_length must be >= 0, got %d", list_length);
    if (rc == SRNoError)
        rc = sr__check(c, poll(c->sd, s, (size_t)list_length, poll_frequency_ms, num_tries, &reached), where);
    if (poll_result) *poll_result = rc == SRNoError && reached;
    free(s);
    return rc;
}

SRError poll_list_length(void *c_client, const char *name, const size_t name_length, int list_length,
                         int poll_frequency_ms, int num_tries, bool *poll_result)
{
    return poll_length(c_client, name, name_length, list_length, poll_frequency_ms, num_tries, poll_result,
                       sd_poll_list_length, "poll_list_length");
}

SRError poll_list_length_gte(void *c_client, const char *name, const size_t name_length, int list_length,
                             int poll_frequency_ms, int num_tries, bool *poll_result)
{
    return poll_length(c_client, name, name_length, list_length, poll_frequency_ms, num_tries, poll_result,
                       sd_poll_list_length_gte, "poll_list_length_gte");
}

SRError poll_list_length_lte(void *c_client, const char *name, const size_t name_length, int list_length,
                             int poll_frequency_ms, int num_tries, bool *poll_result)
{
    return poll_length(c_client, name, name_length, list_length, poll_frequency_ms, num_tries, poll_result,
                       sd_poll_list_length_lte, "poll_list_length_lte");
}

/* The n datasets of sds (a malloc'ed array, taken over) wrapped for the caller in *datasets (malloc'ed). */
static SRError wrap_datasets(sd_dataset **sds, size_t n, void ***datasets, const char *where)
{
    void **out = n ? calloc(n, sizeof *out) : NULL;
    size_t i = 0;
    while (out && i < n && (out[i] = sr__wrap_dataset(sds[i]))) i++;
    if (n && i < n) { /* out of memory: undo */
        for (size_t k = 0; k < i; k++) {
            ((sr_dataset *)out[k])->sd = NULL;
            sr__free_dataset(out[k]);
        }
        free(out);
        sd_datasets_free(sds, n);
        return sr__fail(SRBadAllocError, where, "out of memory for %zu datasets", n);
    }
    free(sds); /* the datasets now belong to their wrappers */
    *datasets = out;
    return SRNoError;
}

static SRError list_range(void *c_client, const char *list_name, size_t len, long long start, long long end,
                          void ***datasets, size_t *num_datasets, const char *where)
{
    sr_client *c;
    char *s;
    sd_dataset **sds = NULL;
    size_t n = 0;
    SRError rc = begin(c_client, list_name, len, where, &c, &s);
    if (rc == SRNoError && (!datasets || !num_datasets))
        rc = sr__fail(SRParameterError, where, "datasets or num_datasets is NULL");
    if (rc == SRNoError) rc = sr__check(c, sd_get_dataset_list_range(c->sd, s, start, end, &sds, &n), where);
    if (rc == SRNoError) rc = wrap_datasets(sds, n, datasets, where);
    if (rc == SRNoError) *num_datasets = n;
    free(s);
    return rc;
}

SRError get_datasets_from_list(void *c_client, const char *list_name, const size_t list_name_length,
                               void ***datasets, size_t *num_datasets)
{
    return list_range(c_client, list_name, list_name_length, 0, -1, datasets, num_datasets,
                      "get_datasets_from_list");
}

SRError get_dataset_list_range(void *c_client, const char *list_name, const size_t list_name_length,
                               const int start_index, const int end_index, void ***datasets, size_t *num_datasets)
{
    return list_range(c_client, list_name, list_name_length, start_index, end_index, datasets, num_datasets,
                      "get_dataset_list_range");
}

SRError _get_dataset_list_range_allocated(void *c_client, const char *list_name, const size_t list_name_length,
                                          const int start_index, const int end_index, void **datasets)
{
    static const char WHERE[] = "_get_dataset_list_range_allocated";
    if (!datasets) return sr__fail(SRParameterError, WHERE, "datasets is NULL");
    void **got = NULL;
    size_t n = 0;
    SRError rc = list_range(c_client, list_name, list_name_length, start_index, end_index, &got, &n, WHERE);
    if (rc != SRNoError) return rc;
    long long wanted = (long long)end_index - start_index + 1;
    if ((long long)n != wanted) {
        for (size_t i = 0; i < n; i++) sr__free_dataset(got[i]);
        free(got);
        return sr__fail(SRInternalError, WHERE, "list '%.*s' gave %zu datasets for indices %d..%d, not the %lld asked",
                        (int)(list_name_length > 200 ? 200 : list_name_length), list_name, n, start_index, end_index,
                        wanted);
    }
    if (n) memcpy(datasets, got, n * sizeof *got);
    free(got);
    return SRNoError;
}
