/*
 * c_faults.c: the C client when things go wrong, driven by test_c_faults.py
 * and test_c_corpus.py: a store that stops answering, restarts, an outage,
 * connections dropped after the store answered, hostile values, bad
 * settings in the environment.
 *
 *   c_faults CASE [ARGS...]
 *
 * As c_tests.c: the store address comes from SIMDASK_ADDRESS, failed checks
 * print "FAIL ..." on stderr, the exit status counts them, and cases that
 * need the Python side to act print a line and wait for one on stdin.
 * Timed calls print "TIMED <name> <status> <ms>" for the Python side to
 * hold against their deadlines.
 */
#include "c_check.h"

#include <stdint.h>
#include <time.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs `call`, which must return `code`, and prints how long it took. */
#define TIMED(c, name, code, call)                                                                        \
    do {                                                                                                  \
        long long t0_ = now_ms();                                                                         \
        int rc_ = (call);                                                                                 \
        printf("TIMED %s %s %lld\n", (name), sd_status_name(rc_), now_ms() - t0_);                        \
        fflush(stdout);                                                                                   \
        CHECK(rc_ == (code), "%s returned %s, expected %s: %s", (name), sd_status_name(rc_),              \
              sd_status_name(code), sd_last_error(c));                                                    \
    } while (0)

static const double V4[4] = {1, 2, 3, 4};
static const size_t S4[1] = {4};

/* put then unpack must give the values back. */
static void round_trip(sd_client *c, const char *name, double scale)
{
    double v[4], w[4] = {0};
    for (int i = 0; i < 4; i++) v[i] = V4[i] * scale;
    OK(c, sd_put_tensor(c, name, v, SD_FLOAT64, 1, S4, SD_ORDER_C));
    OK(c, sd_unpack_tensor(c, name, w, sizeof w, SD_FLOAT64, 1, S4, SD_ORDER_C));
    CHECK(memcmp(v, w, sizeof v) == 0, "%s: values differ after the round trip", name);
}

/* SIMDASK_IO_TIMEOUT=1 and SIMDASK_CONNECT_TIMEOUT=1 (set by the test); the
 * store is frozen (SIGSTOP) between FREEZE and THAW. Every call returns
 * SD_ERR_TIMEOUT by its deadline; afterwards the same clients work again. */
static int case_frozen(void)
{
    sd_client *c = connect_env(), *patient = NULL, *fresh = NULL;
    sd_options opt;
    sd_options_init(&opt);
    opt.io_timeout_ms = 60000; /* the run's own deadline must end its wait, not the I/O timeout */
    OK(patient, sd_client_new_with_options(&patient, &opt));
    OK(c, sd_put_tensor(c, "fz", V4, SD_FLOAT64, 1, S4, SD_ORDER_C));
    void *data = NULL;
    sd_dtype dt;
    size_t nd, sh[SD_MAX_NDIM];
    sd_order o;
    int ex;
    const char *in[1] = {"fz"}, *out[1] = {"fz_out"};
    wait_line("FREEZE");
    TIMED(c, "put", SD_ERR_TIMEOUT, sd_put_tensor(c, "fz2", V4, SD_FLOAT64, 1, S4, SD_ORDER_C));
    MSG_HAS(c, "fz2");
    TIMED(c, "get", SD_ERR_TIMEOUT, sd_get_tensor(c, "fz", &data, &dt, &nd, sh, &o));
    MSG_HAS(c, "'fz'");
    MSG_HAS(c, "127.0.0.1");
    TIMED(c, "poll", SD_ERR_TIMEOUT, sd_poll_tensor(c, "fz_never", 100, 50, &ex));
    TIMED(patient, "run_model", SD_ERR_TIMEOUT, sd_run_model(patient, "m", 1, in, 1, out, 1500));
    MSG_HAS(patient, "'m'");
    TIMED(fresh, "client_new", SD_ERR_TIMEOUT, sd_client_new(&fresh, NULL));
    sd_client_free(fresh);
    wait_line("THAW");
    round_trip(c, "fz3", 2.0);
    round_trip(patient, "fz4", 3.0);
    OK(fresh, sd_client_new(&fresh, NULL));
    round_trip(fresh, "fz5", 4.0);
    sd_client_free(fresh);
    sd_client_free(patient);
    sd_client_free(c);
    return failures;
}

/* One round of everything a simulation does: plain and chunked tensors, a
 * dataset, an append to a list. The Python side counts the list's entries. */
static void work(sd_client *c, const sd_dataset *ds, int round)
{
    size_t n = (9u << 20) / 8 + round, bs[1] = {n}, len = 0;
    double *big = malloc(n * 8), *got = malloc(n * 8);
    char name[32];
    for (size_t i = 0; i < n; i++) big[i] = (double)i + round;
    snprintf(name, sizeof name, "rs_small_%d", round);
    round_trip(c, name, round + 1.0);
    OK(c, sd_put_tensor(c, "rs_big", big, SD_FLOAT64, 1, bs, SD_ORDER_C));
    OK(c, sd_unpack_tensor(c, "rs_big", got, n * 8, SD_FLOAT64, 1, bs, SD_ORDER_C));
    CHECK(memcmp(big, got, n * 8) == 0, "rs_big of round %d", round);
    OK(c, sd_put_dataset(c, ds));
    OK(c, sd_append_to_list(c, "rs_list", ds));
    OK(c, sd_get_list_length(c, "rs_list", &len));
    CHECK(len == (size_t)round + 1, "round %d: the list has %zu entries", round, len);
    free(big);
    free(got);
}

/* The store restarts (with its data) between calls, then goes away for a
 * moment while calls are under way: no call fails, nothing is done twice. */
static int case_restart(void)
{
    sd_client *c = connect_env();
    sd_dataset *ds;
    CHECK(sd_dataset_new(&ds, "rs_ds") == SD_OK, "dataset");
    CHECK(sd_dataset_add_tensor(ds, "t", V4, SD_FLOAT64, 1, S4, SD_ORDER_C) == SD_OK, "%s", sd_dataset_last_error(ds));
    work(c, ds, 0);
    wait_line("RESTART"); /* every pooled connection is stale now */
    work(c, ds, 1);
    wait_line("OUTAGE"); /* the store is down, and comes back within the retry window */
    work(c, ds, 2);
    sd_dataset_free(ds);
    sd_client_free(c);
    return failures;
}

/* Through a proxy that drops the connection right after the store answered
 * the next command (the store did it; the client never hears so): reads and
 * plain writes are sent again, an append or a run request is not, and a
 * chunked write whose head transaction went through is whole. Last, the
 * proxy passes a chunked write's chunks and their answers, then closes the
 * connection before the head goes out: the whole write is done again. */
static int case_dropped(void)
{
    sd_client *c = connect_env();
    double w[4];
    size_t n = (9u << 20) / 8, bs[1] = {n}, len = 0;
    double *big = malloc(n * 8), *got = malloc(n * 8);
    const char *in[1] = {"px_small"}, *out[1] = {"px_out"};
    sd_dataset *ds;
    CHECK(sd_dataset_new(&ds, "px_ds") == SD_OK, "dataset");
    CHECK(sd_dataset_add_tensor(ds, "t", V4, SD_FLOAT64, 1, S4, SD_ORDER_C) == SD_OK, "%s", sd_dataset_last_error(ds));
    OK(c, sd_put_tensor(c, "px_small", V4, SD_FLOAT64, 1, S4, SD_ORDER_C));
    OK(c, sd_put_dataset(c, ds));
    for (size_t i = 0; i < n; i++) big[i] = (double)i;
    int ex;
    OK(c, sd_tensor_exists(c, "px_small", &ex)); /* the first read resolves the group's run: the drop hits the GET */
    wait_line("ARM get");
    OK(c, sd_unpack_tensor(c, "px_small", w, sizeof w, SD_FLOAT64, 1, S4, SD_ORDER_C));
    CHECK(memcmp(w, V4, sizeof w) == 0, "px_small after a resent GET");
    wait_line("ARM put");
    round_trip(c, "px_small", 5.0);
    wait_line("ARM append");
    EXPECT(c, SD_ERR_CONNECTION, sd_append_to_list(c, "px_list", ds));
    MSG_HAS(c, "px_list");
    MSG_HAS(c, "127.0.0.1");
    printf("append: %s\n", sd_last_error(c));
    OK(c, sd_get_list_length(c, "px_list", &len));
    CHECK(len == 1, "the dropped append left %zu entries (1: done once, not again)", len);
    wait_line("ARM run");
    TIMED(c, "run_model", SD_ERR_CONNECTION, sd_run_model(c, "px_model", 1, in, 1, out, 30000));
    MSG_HAS(c, "px_model");
    wait_line("ARM head");
    EXPECT(c, SD_ERR_CONNECTION, sd_put_tensor(c, "px_big", big, SD_FLOAT64, 1, bs, SD_ORDER_C));
    OK(c, sd_unpack_tensor(c, "px_big", got, n * 8, SD_FLOAT64, 1, bs, SD_ORDER_C));
    CHECK(memcmp(big, got, n * 8) == 0, "px_big: the head transaction went through, the tensor must be whole");
    wait_line("ARM between");
    OK(c, sd_put_tensor(c, "px_big2", big, SD_FLOAT64, 1, bs, SD_ORDER_C));
    OK(c, sd_unpack_tensor(c, "px_big2", got, n * 8, SD_FLOAT64, 1, bs, SD_ORDER_C));
    CHECK(memcmp(big, got, n * 8) == 0, "px_big2 after the whole write went again");
    wait_line("DONE");
    sd_dataset_free(ds);
    free(big);
    free(got);
    sd_client_free(c);
    return failures;
}

/* Lines "key<TAB>status<TAB>dtype<TAB>d0,d1,..." on stdin (dtype 0: not
 * decodable): each value read three ways (get, unpack, exists then get)
 * must give that status, a failure naming the key, and the client must stay
 * in step. unpack uses the claimed dtype and shape when small enough to
 * hold, else float64 (4,). */
typedef struct corpus_line {
    char key[256], status[64];
    int dtype;
    size_t ndim, shape[SD_MAX_NDIM];
} corpus_line;

static int parse_line(char *line, corpus_line *cl)
{
    char dims[1024];
    memset(cl, 0, sizeof *cl);
    dims[0] = '\0';
    if (sscanf(line, "%255[^\t]\t%63[^\t]\t%d\t%1023[^\n]", cl->key, cl->status, &cl->dtype, dims) < 3) return -1;
    for (char *p = dims; *p && cl->ndim < SD_MAX_NDIM; cl->ndim++) {
        char *end;
        cl->shape[cl->ndim] = (size_t)strtoull(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
        if (end == p && *p) return -1;
    }
    return 0;
}

static int status_code(const char *name)
{
    for (int i = 0; strcmp(sd_status_name(i), "unknown status") != 0; i++)
        if (strcmp(sd_status_name(i), name) == 0) return i;
    return -1;
}

/* Whether the claimed array is small enough to unpack into here, and its bytes. */
static int claim_fits(const corpus_line *cl, size_t *nbytes)
{
    const size_t most = (size_t)64 << 20;
    size_t n = sd_dtype_size((sd_dtype)cl->dtype);
    if (!n) return 0;
    for (size_t i = 0; i < cl->ndim; i++) {
        if (cl->shape[i] && n > most / cl->shape[i]) return 0;
        n *= cl->shape[i];
    }
    *nbytes = n;
    return 1;
}

/* One read: SD_OK frees what it got, a failure names the key and hands out nothing. */
static void got(sd_client *c, const corpus_line *cl, int code, void **out)
{
    if (code == SD_OK) {
        sd_free(*out);
    } else {
        MSG_HAS(c, cl->key);
        CHECK(*out == NULL, "%s: data pointer set on failure", cl->key);
    }
    *out = (void *)1;
}

static void read_expecting(sd_client *c, const corpus_line *cl)
{
    int code = status_code(cl->status), ex = 0;
    void *out = (void *)1;
    sd_dtype dt;
    size_t nd, sh[SD_MAX_NDIM], nbytes = 0, s4[1] = {4};
    sd_order o;
    int claimed = claim_fits(cl, &nbytes);
    void *buf = malloc(claimed && nbytes > 32 ? nbytes : 32);
    CHECK(code >= 0, "unknown status %s", cl->status);
    EXPECT(c, code, sd_get_tensor(c, cl->key, &out, &dt, &nd, sh, &o));
    printf("%s get: %s\n", cl->key, sd_last_error(c));
    got(c, cl, code, &out);
    EXPECT(c, code, claimed ? sd_unpack_tensor(c, cl->key, buf, nbytes, (sd_dtype)cl->dtype, cl->ndim, cl->shape,
                                               SD_ORDER_C)
                            : sd_unpack_tensor(c, cl->key, buf, 32, SD_FLOAT64, 1, s4, SD_ORDER_C));
    if (code != SD_OK) MSG_HAS(c, cl->key);
    OK(c, sd_tensor_exists(c, cl->key, &ex));
    CHECK(ex == 1, "%s does not exist", cl->key);
    EXPECT(c, code, sd_get_tensor(c, cl->key, &out, &dt, &nd, sh, &o));
    got(c, cl, code, &out);
    free(buf);
}

static int case_reads(void)
{
    sd_client *c = connect_env();
    char line[2048];
    int n = 0;
    corpus_line cl;
    while (fgets(line, sizeof line, stdin)) {
        if (parse_line(line, &cl) != 0) {
            CHECK(0, "unparsable corpus line: %s", line);
            continue;
        }
        read_expecting(c, &cl);
        n++;
    }
    round_trip(c, "after_reads", 1.0); /* still in step */
    printf("%d values read\n", n);
    sd_client_free(c);
    return failures;
}

/* The variable `var` holds no timeout: creating a client says which; an
 * explicit option for it wins over the variable. */
static int case_env_bad(const char *var)
{
    sd_client *c = NULL;
    EXPECT(c, SD_ERR_ARG, sd_client_new(&c, NULL));
    MSG_HAS(c, var);
    printf("%s\n", sd_last_error(c));
    sd_client_free(c);
    sd_options opt;
    sd_options_init(&opt);
    if (strcmp(var, "SIMDASK_CONNECT_TIMEOUT") == 0) opt.connect_timeout_ms = 5000;
    if (strcmp(var, "SIMDASK_IO_TIMEOUT") == 0) opt.io_timeout_ms = 5000;
    if (strcmp(var, "SIMDASK_RUN_TIMEOUT") == 0) opt.run_timeout_ms = 5000;
    c = NULL;
    OK(c, sd_client_new_with_options(&c, &opt));
    round_trip(c, "env_explicit", 1.0);
    sd_client_free(c);
    return failures;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: c_faults CASE [ARGS]\n");
        return 2;
    }
    const char *cs = argv[1];
    int f;
    if (strcmp(cs, "frozen") == 0)
        f = case_frozen();
    else if (strcmp(cs, "restart") == 0)
        f = case_restart();
    else if (strcmp(cs, "dropped") == 0)
        f = case_dropped();
    else if (strcmp(cs, "reads") == 0)
        f = case_reads();
    else if (strcmp(cs, "env_bad") == 0 && argc > 2)
        f = case_env_bad(argv[2]);
    else {
        fprintf(stderr, "unknown case or missing arguments: %s\n", cs);
        return 2;
    }
    printf("%s: %d failure(s)\n", cs, f);
    return f > 99 ? 99 : f;
}
