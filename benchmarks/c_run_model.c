/*
 * c_run_model.c: concurrent run_model callers written in C, as simulation ranks
 * are. Built and driven by bench_inference.py.
 *
 *   c_run_model ADDRESS MODEL CALLERS ITERATIONS
 *
 * Forks CALLERS processes (fork, not MPI: an MPI barrier busy-polls, which on
 * a small machine takes the cores the measurement is about). Each connects
 * with its own client, warms up with one cycle, waits for the start signal,
 * then does ITERATIONS cycles of its own batch-1 input:
 *
 *   sd_put_tensor("cx<i>", 1x64 float32) ; sd_run_model(MODEL, cx<i> -> cy<i>) ;
 *   sd_unpack_tensor("cy<i>")
 *
 * (sd_unpack_tensor refuses an answer that is not 1x64 float32: an error). It
 * prints one line, "key value" pairs:
 *
 *   requests R seconds S rps X cycle_p50_us . cycle_p99_us . run_p50_us . run_p99_us . errors E
 *
 * seconds: from the start signal until the last caller finished; cycle: one
 * put + run + get; run: the sd_run_model call alone. Exit status 1 when any
 * call failed (the first error is printed to stderr).
 */
#include <simdask.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WIDTH 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "c_run_model: %s: %s\n", what, msg);
    exit(1);
}

static void write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) die("write", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
}

static int read_all(int fd, void *data, size_t n)
{
    char *p = data;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One cycle: put, run, get; the seconds of the run alone in *run. SD_OK or the failed call's status. */
static int cycle(sd_client *c, const char *model, const char *in, const char *out, float *x, float *y, double *run)
{
    size_t shape[2] = {1, WIDTH};
    const char *inputs[1] = {in}, *outputs[1] = {out};
    int rc = sd_put_tensor(c, in, x, SD_FLOAT32, 2, shape, SD_ORDER_C);
    if (rc != SD_OK) return rc;
    double t = now();
    rc = sd_run_model(c, model, 1, inputs, 1, outputs, 60000);
    *run = now() - t;
    if (rc != SD_OK) return rc;
    return sd_unpack_tensor(c, out, y, WIDTH * sizeof(float), SD_FLOAT32, 2, shape, SD_ORDER_C);
}

/* A caller process: reports "ready" (one byte), waits for "go", then sends its samples and its error count. */
static void caller(const char *address, const char *model, int index, int iterations, int ready, int go, int out)
{
    sd_client *c = NULL;
    if (sd_client_new(&c, address) != SD_OK) die("sd_client_new", sd_last_error(c));
    char in[32], key[32];
    snprintf(in, sizeof in, "cx%d", index);
    snprintf(key, sizeof key, "cy%d", index);
    float x[WIDTH], y[WIDTH];
    for (int i = 0; i < WIDTH; i++) x[i] = (float)((index * 31 + i) % 17) / 17.0f;
    double *samples = malloc(2 * (size_t)iterations * sizeof *samples), run = 0;
    if (!samples) die("malloc", "out of memory");
    if (cycle(c, model, in, key, x, y, &run) != SD_OK) die("warm-up", sd_last_error(c));
    char byte = 'r';
    write_all(ready, &byte, 1);
    if (read_all(go, &byte, 1) != 0) die("start signal", "the driver went away");
    int errors = 0;
    for (int k = 0; k < iterations; k++) {
        double t = now();
        if (cycle(c, model, in, key, x, y, &run) != SD_OK) {
            if (!errors++) fprintf(stderr, "c_run_model: caller %d: %s\n", index, sd_last_error(c));
        }
        samples[2 * k] = now() - t;
        samples[2 * k + 1] = run;
    }
    write_all(out, &errors, sizeof errors);
    write_all(out, samples, 2 * (size_t)iterations * sizeof *samples);
    sd_client_free(c);
    free(samples);
    _exit(0);
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *sorted, size_t n, double p)
{
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)rank;
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (rank - (double)lo) * (sorted[hi] - sorted[lo]);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: c_run_model ADDRESS MODEL CALLERS ITERATIONS\n");
        return 2;
    }
    const char *address = argv[1], *model = argv[2];
    int callers = atoi(argv[3]), iterations = atoi(argv[4]);
    if (callers < 1 || iterations < 1) die("arguments", "CALLERS and ITERATIONS must be >= 1");
    int ready[2], go[2];
    int(*results)[2] = malloc((size_t)callers * sizeof *results);
    pid_t *pids = malloc((size_t)callers * sizeof *pids);
    if (!results || !pids || pipe(ready) != 0 || pipe(go) != 0) die("setup", strerror(errno));
    for (int i = 0; i < callers; i++) {
        if (pipe(results[i]) != 0) die("pipe", strerror(errno));
        pids[i] = fork();
        if (pids[i] < 0) die("fork", strerror(errno));
        if (pids[i] == 0) {
            close(ready[0]);
            close(go[1]);
            close(results[i][0]);
            caller(address, model, i, iterations, ready[1], go[0], results[i][1]);
        }
        close(results[i][1]);
    }
    close(ready[1]);
    close(go[0]);
    char byte;
    for (int i = 0; i < callers; i++)
        if (read_all(ready[0], &byte, 1) != 0) die("callers", "a caller failed before it was ready");
    double start = now();
    char *signal = malloc((size_t)callers);
    memset(signal, 'g', (size_t)callers);
    write_all(go[1], signal, (size_t)callers);
    size_t n = (size_t)callers * (size_t)iterations;
    double *cycles = malloc(n * sizeof *cycles), *runs = malloc(n * sizeof *runs);
    double *mine = malloc(2 * (size_t)iterations * sizeof *mine);
    if (!cycles || !runs || !mine) die("malloc", "out of memory");
    int errors = 0;
    for (int i = 0; i < callers; i++) {
        int e = 0;
        if (read_all(results[i][0], &e, sizeof e) != 0 ||
            read_all(results[i][0], mine, 2 * (size_t)iterations * sizeof *mine) != 0)
            die("callers", "a caller died");
        errors += e;
        for (int k = 0; k < iterations; k++) {
            cycles[(size_t)i * iterations + k] = mine[2 * k];
            runs[(size_t)i * iterations + k] = mine[2 * k + 1];
        }
    }
    double seconds = now() - start;
    for (int i = 0; i < callers; i++) waitpid(pids[i], NULL, 0);
    qsort(cycles, n, sizeof *cycles, compare);
    qsort(runs, n, sizeof *runs, compare);
    printf("requests %zu seconds %.4f rps %.1f cycle_p50_us %.1f cycle_p99_us %.1f run_p50_us %.1f run_p99_us %.1f "
           "errors %d\n",
           n, seconds, (double)n / seconds, 1e6 * percentile(cycles, n, 50), 1e6 * percentile(cycles, n, 99),
           1e6 * percentile(runs, n, 50), 1e6 * percentile(runs, n, 99), errors);
    free(cycles);
    free(runs);
    free(mine);
    free(signal);
    free(results);
    free(pids);
    return errors ? 1 : 0;
}
