/*
 * c_runs.c: runs of the C client (docs/protocol.md, "Runs"), driven by test_c_runs.py.
 *
 *   c_runs OP...
 *
 * Connects with sd_client_new(NULL) (the test sets the environment), does
 * the operations in order and frees the client (which ends a run it began).
 * Each operation must return SD_OK unless an `expect=STATUS` before it says
 * otherwise; its message is then printed as "MSG STATUS message". The exit
 * status is the number of failed checks (0: all passed). Operations:
 *
 *   new=STATUS          (first) creating the client must fail with STATUS
 *   begin[=ID,W,N]      sd_begin_run (ID "-": NULL; W, N may be -1); without: NULL, -1, -1
 *   end                 sd_end_run
 *   run                 prints "RUN <sd_run_number>"
 *   put=NAME:V          a float64 tensor [V] under NAME
 *   get=NAME:V          NAME must hold [V] (sd_unpack_tensor and sd_get_tensor)
 *   missing=NAME        NAME must not exist (sd_tensor_exists)
 *   has=NAME:0|1        whether NAME exists, as sd_tensor_exists and sd_poll_tensor (one try) say
 *   del=NAME            sd_delete_tensor
 *   putds=DS:V          a dataset DS with tensor "t" = [V]
 *   getds=DS:V          dataset DS must hold tensor "t" = [V] (sd_get_dataset)
 *   hasds=DS:0|1        whether DS exists, as sd_dataset_exists and sd_poll_dataset (one try) say
 *   poll=NAME:N         sd_poll_tensor (N tries 10 ms apart) must find NAME
 *   pollds=DS:N         sd_poll_dataset (N tries 10 ms apart) must find DS
 *   delds=DS            sd_delete_dataset
 *   append=LIST:DS      sd_append_to_list (DS as put with putds)
 *   dellist=LIST        sd_delete_list
 *   len=LIST:N          LIST must have N entries, as sd_get_list_length and its polls (one try each) say
 *   range=LIST[:S,E]    prints "RANGE DS=V ..." for the datasets at positions S..E (sd_get_dataset_list_range;
 *                       without S,E: sd_get_datasets_from_list), V their tensor "t"
 *   copylist=SRC:DST    sd_copy_list
 *   renamelist=SRC:DST  sd_rename_list
 *   uselist=0|1         sd_use_list_prefix
 *   raw=KEY:0|1         whether the raw key exists
 *   source=PREFIX       sd_set_data_source
 *   model=IN:OUT        sd_run_model("copy", [IN], [OUT]) (the test's responder answers)
 *   sleep=MS            sleeps
 *   wait=WORD           prints WORD and waits for a line on stdin
 */
#include "c_check.h"

#include <time.h>

static int expected = SD_OK;

/* The status of op, against `expected` (then reset). */
static void check(sd_client *c, const char *op, int rc)
{
    if (rc != expected) {
        failures++;
        fprintf(stderr, "FAIL %s returned %s, expected %s: %s\n", op, sd_status_name(rc), sd_status_name(expected),
                sd_last_error(c));
    } else if (expected != SD_OK) {
        printf("MSG %s %s\n", sd_status_name(rc), sd_last_error(c));
    }
    expected = SD_OK;
}

static int status_of(const char *name)
{
    for (int s = 0; s <= SD_ERR_CONCURRENT; s++)
        if (strcmp(sd_status_name(s), name) == 0) return s;
    fprintf(stderr, "unknown status %s\n", name);
    exit(2);
}

/* "NAME:V" -> name (in buf) and value. */
static double split(const char *arg, char *buf, size_t n)
{
    const char *colon = strrchr(arg, ':');
    if (!colon || (size_t)(colon - arg) >= n) {
        fprintf(stderr, "expected NAME:VALUE, got %s\n", arg);
        exit(2);
    }
    memcpy(buf, arg, (size_t)(colon - arg));
    buf[colon - arg] = '\0';
    return strtod(colon + 1, NULL);
}

static void op_get(sd_client *c, const char *op, const char *arg)
{
    char name[256];
    double want = split(arg, name, sizeof name), got = -1;
    size_t shape[1] = {1}, gshape[SD_MAX_NDIM];
    int want_rc = expected;
    int rc = sd_unpack_tensor(c, name, &got, sizeof got, SD_FLOAT64, 1, shape, SD_ORDER_C);
    if (rc == SD_OK && expected == SD_OK) CHECK(got == want, "%s: got %g", op, got);
    check(c, op, rc);
    void *data = NULL;
    sd_dtype dtype;
    size_t ndim;
    sd_order order;
    rc = sd_get_tensor(c, name, &data, &dtype, &ndim, gshape, &order);
    CHECK(rc == want_rc, "%s: sd_get_tensor returned %s: %s", op, sd_status_name(rc), sd_last_error(c));
    if (rc == SD_OK) CHECK(ndim == 1 && *(double *)data == want, "%s: sd_get_tensor got %g", op, *(double *)data);
    sd_free(data);
}

/* NAME:0|1: whether the tensor (or the dataset) exists, as both the exists and the poll call say. */
static void op_has(sd_client *c, const char *op, const char *arg, int dataset)
{
    char name[256];
    int want = (int)split(arg, name, sizeof name), ex = -1, polled = -1;
    check(c, op, dataset ? sd_dataset_exists(c, name, &ex) : sd_tensor_exists(c, name, &ex));
    check(c, op, dataset ? sd_poll_dataset(c, name, 0, 1, &polled) : sd_poll_tensor(c, name, 0, 1, &polled));
    CHECK(ex == want && polled == want, "%s: exists %d, polled %d", op, ex, polled);
}

/* NAME:N: the poll call must find the tensor (or the dataset) in N tries. */
static void op_poll(sd_client *c, const char *op, const char *arg, int dataset)
{
    char name[256];
    int tries = (int)split(arg, name, sizeof name), found = -1;
    check(c, op, dataset ? sd_poll_dataset(c, name, 10, tries, &found) : sd_poll_tensor(c, name, 10, tries, &found));
    CHECK(found == 1, "%s: polled %d", op, found);
}

static void op_getds(sd_client *c, const char *op, const char *arg)
{
    char name[256];
    double want = split(arg, name, sizeof name), got = -1;
    size_t shape[1] = {1};
    sd_dataset *ds = NULL;
    int rc = sd_get_dataset(c, name, &ds);
    if (rc == SD_OK) {
        CHECK(sd_dataset_unpack_tensor(ds, "t", &got, sizeof got, SD_FLOAT64, 1, shape, SD_ORDER_C) == SD_OK, "%s",
              sd_dataset_last_error(ds));
        CHECK(got == want, "%s: got %g", op, got);
    }
    check(c, op, rc);
    sd_dataset_free(ds);
}

static void op_dataset(sd_client *c, const char *op, const char *arg, int append)
{
    char name[256];
    double v = split(arg, name, sizeof name);
    size_t shape[1] = {1};
    sd_dataset *ds;
    if (append) { /* LIST:DS: the dataset named after the colon */
        const char *colon = strrchr(arg, ':');
        CHECK(sd_dataset_new(&ds, colon + 1) == SD_OK, "dataset %s", colon + 1);
        check(c, op, sd_append_to_list(c, name, ds));
    } else {
        CHECK(sd_dataset_new(&ds, name) == SD_OK, "dataset %s", name);
        CHECK(sd_dataset_add_tensor(ds, "t", &v, SD_FLOAT64, 1, shape, SD_ORDER_C) == SD_OK, "%s",
              sd_dataset_last_error(ds));
        check(c, op, sd_put_dataset(c, ds));
    }
    sd_dataset_free(ds);
}

/* LIST:N: the length call and the ==, >= and <= polls (one try each) agree on N. */
static void op_len(sd_client *c, const char *op, const char *arg)
{
    char name[256];
    size_t want = (size_t)split(arg, name, sizeof name), got = 999;
    int eq = -1, gte = -1, lte = -1;
    check(c, op, sd_get_list_length(c, name, &got));
    check(c, op, sd_poll_list_length(c, name, want, 0, 1, &eq));
    check(c, op, sd_poll_list_length_gte(c, name, want, 0, 1, &gte));
    check(c, op, sd_poll_list_length_lte(c, name, want, 0, 1, &lte));
    CHECK(got == want && eq == 1 && gte == 1 && lte == 1, "%s: length %zu, polls %d %d %d", op, got, eq, gte, lte);
}

static void op_range(sd_client *c, const char *op, const char *arg)
{
    char name[256];
    long long start = 0, end = -1;
    const char *colon = strchr(arg, ':');
    snprintf(name, sizeof name, "%.*s", colon ? (int)(colon - arg) : (int)strlen(arg), arg);
    if (colon && sscanf(colon + 1, "%lld,%lld", &start, &end) != 2) {
        fprintf(stderr, "expected range=LIST:S,E, got %s\n", op);
        exit(2);
    }
    sd_dataset **ds = NULL;
    size_t n = 0, shape[1] = {1};
    int rc = colon ? sd_get_dataset_list_range(c, name, start, end, &ds, &n)
                   : sd_get_datasets_from_list(c, name, &ds, &n);
    printf("RANGE");
    for (size_t i = 0; rc == SD_OK && i < n; i++) {
        double v = -1;
        CHECK(sd_dataset_unpack_tensor(ds[i], "t", &v, sizeof v, SD_FLOAT64, 1, shape, SD_ORDER_C) == SD_OK, "%s",
              sd_dataset_last_error(ds[i]));
        printf(" %s=%g", sd_dataset_name(ds[i]), v);
    }
    printf("\n");
    check(c, op, rc);
    sd_datasets_free(ds, n);
}

static void op_begin(sd_client *c, const char *op, const char *arg)
{
    if (!arg) {
        check(c, op, sd_begin_run(c, NULL, -1, -1));
        return;
    }
    char id[256];
    int w = 0, n = 0;
    if (sscanf(arg, "%255[^,],%d,%d", id, &w, &n) != 3) {
        fprintf(stderr, "expected begin=ID,W,N, got %s\n", op);
        exit(2);
    }
    check(c, op, sd_begin_run(c, strcmp(id, "-") == 0 ? NULL : id, w, n));
}

static void do_op(sd_client *c, const char *op)
{
    const char *eq = strchr(op, '=');
    const char *arg = eq ? eq + 1 : NULL;
    size_t klen = eq ? (size_t)(eq - op) : strlen(op);
    char name[256];
    size_t shape[1] = {1};
#define IS(k) (klen == strlen(k) && strncmp(op, k, klen) == 0)
    if (IS("expect")) {
        expected = status_of(arg);
    } else if (IS("begin")) {
        op_begin(c, op, arg);
    } else if (IS("end")) {
        check(c, op, sd_end_run(c));
    } else if (IS("run")) {
        long long n = -1;
        check(c, op, sd_run_number(c, &n));
        printf("RUN %lld\n", n);
    } else if (IS("put")) {
        double v = split(arg, name, sizeof name);
        check(c, op, sd_put_tensor(c, name, &v, SD_FLOAT64, 1, shape, SD_ORDER_C));
    } else if (IS("get")) {
        op_get(c, op, arg);
    } else if (IS("missing")) {
        int ex = -1;
        check(c, op, sd_tensor_exists(c, arg, &ex));
        CHECK(ex == 0, "%s: exists", op);
    } else if (IS("has")) {
        op_has(c, op, arg, 0);
    } else if (IS("hasds")) {
        op_has(c, op, arg, 1);
    } else if (IS("poll")) {
        op_poll(c, op, arg, 0);
    } else if (IS("pollds")) {
        op_poll(c, op, arg, 1);
    } else if (IS("getds")) {
        op_getds(c, op, arg);
    } else if (IS("del")) {
        check(c, op, sd_delete_tensor(c, arg));
    } else if (IS("rename")) { /* rename=OLD:NEW */
        const char *colon = strchr(arg, ':');
        snprintf(name, sizeof name, "%.*s", (int)(colon - arg), arg);
        check(c, op, sd_rename_tensor(c, name, colon + 1));
    } else if (IS("putds")) {
        op_dataset(c, op, arg, 0);
    } else if (IS("delds")) {
        check(c, op, sd_delete_dataset(c, arg));
    } else if (IS("append")) {
        op_dataset(c, op, arg, 1);
    } else if (IS("dellist")) {
        check(c, op, sd_delete_list(c, arg));
    } else if (IS("len")) {
        op_len(c, op, arg);
    } else if (IS("range")) {
        op_range(c, op, arg);
    } else if (IS("copylist") || IS("renamelist")) { /* SRC:DST */
        const char *colon = strchr(arg, ':');
        snprintf(name, sizeof name, "%.*s", (int)(colon - arg), arg);
        check(c, op, IS("copylist") ? sd_copy_list(c, name, colon + 1) : sd_rename_list(c, name, colon + 1));
    } else if (IS("uselist")) {
        check(c, op, sd_use_list_prefix(c, atoi(arg)));
    } else if (IS("raw")) {
        int ex = -1, want = (int)split(arg, name, sizeof name);
        check(c, op, sd_key_exists(c, name, &ex));
        CHECK(ex == want, "%s: exists = %d", op, ex);
    } else if (IS("source")) {
        check(c, op, sd_set_data_source(c, arg));
    } else if (IS("model")) {
        const char *colon = strchr(arg, ':');
        snprintf(name, sizeof name, "%.*s", (int)(colon - arg), arg);
        const char *in[1] = {name}, *out[1] = {colon + 1};
        check(c, op, sd_run_model(c, "copy", 1, in, 1, out, 10000));
    } else if (IS("sleep")) {
        long ms = strtol(arg, NULL, 10);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    } else if (IS("wait")) {
        wait_line(arg);
    } else {
        fprintf(stderr, "unknown operation %s\n", op);
        exit(2);
    }
#undef IS
    fflush(stdout);
}

int main(int argc, char **argv)
{
    sd_client *c = NULL;
    int rc = sd_client_new(&c, NULL);
    if (argc > 1 && strncmp(argv[1], "new=", 4) == 0) {
        expected = status_of(argv[1] + 4);
        check(c, argv[1], rc);
        sd_client_free(c);
        return failures;
    }
    if (rc != SD_OK) {
        fprintf(stderr, "FAIL cannot connect (%s): %s\n", sd_status_name(rc), sd_last_error(c));
        sd_client_free(c);
        return 100;
    }
    for (int i = 1; i < argc; i++) do_op(c, argv[i]);
    sd_client_free(c);
    return failures > 99 ? 99 : failures;
}
