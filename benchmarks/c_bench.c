/*
 * c_bench.c: throughput of the simdask C client against raw hiredis on the
 * same server, for one value size. Driven by bench_c_client.py.
 *
 *   c_bench HOST PORT BYTES ITERATIONS
 *
 * Prints one line per operation: "<op> <MB/s>" (MB = 10^6 bytes), each the
 * mean over ITERATIONS calls after one warm-up call:
 *   sd_put     sd_put_tensor of a float64 array of BYTES (chunked above 8 MiB)
 *   sd_get     sd_get_tensor (a new buffer per call, freed with sd_free)
 *   sd_unpack  sd_unpack_tensor into a preallocated buffer
 *   hiredis_set / hiredis_get   redisCommand("SET %s %b") / redisCommand("GET %s") of the same bytes
 *   bare_set / bare_get   the same bytes without simdask: 4 MiB SETs (GETs) of fixed keys, all
 *                         pipelined in one writev on a bare socket, replies received in place
 */
#include <simdask.h>

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "c_bench: %s: %s\n", what, msg);
    exit(1);
}

static void report(const char *op, size_t bytes, int iterations, double seconds)
{
    printf("%s %.1f\n", op, (double)bytes * iterations / seconds / 1e6);
    fflush(stdout);
}

static void write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n > 1024 ? 1024 : n);
        if (w < 0) die("writev", "failed");
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
}

static void read_all(int fd, char *dst, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, dst, n, MSG_WAITALL);
        if (r <= 0) die("recv", "failed");
        dst += r;
        n -= (size_t)r;
    }
}

/* The same bytes as ceil(bytes / 4 MiB) pipelined SETs, then GETs, of keys pipe:<i>. */
static void pipelined(int fd, const char *a, char *b, size_t bytes, int iterations)
{
    const size_t chunk = (size_t)4 << 20;
    size_t n = (bytes + chunk - 1) / chunk;
    char(*hdr)[96] = malloc(n * sizeof *hdr), *cmds = malloc(n * 64), tmp[64];
    struct iovec *iov = malloc(3 * n * sizeof *iov);
    double t = 0;
    for (int it = -1; it < iterations; it++) {
        if (it == 0) t = now();
        for (size_t i = 0; i < n; i++) {
            size_t len = bytes - i * chunk < chunk ? bytes - i * chunk : chunk;
            char key[32];
            int kl = snprintf(key, sizeof key, "pipe:%zu", i);
            int hl = snprintf(hdr[i], sizeof hdr[i], "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%zu\r\n", kl, key, len);
            iov[3 * i] = (struct iovec){hdr[i], (size_t)hl};
            iov[3 * i + 1] = (struct iovec){(void *)(a + i * chunk), len};
            iov[3 * i + 2] = (struct iovec){"\r\n", 2};
        }
        write_all(fd, iov, (int)(3 * n));
        for (size_t i = 0; i < n; i++) read_all(fd, tmp, 5); /* +OK\r\n */
    }
    report("bare_set", bytes, iterations, now() - t);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "pipe:%zu", i);
        used += (size_t)snprintf(cmds + used, 64, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", kl, key);
    }
    for (int it = -1; it < iterations; it++) {
        if (it == 0) t = now();
        if (send(fd, cmds, used, 0) != (ssize_t)used) die("send", "failed");
        for (size_t i = 0; i < n; i++) {
            size_t len = bytes - i * chunk < chunk ? bytes - i * chunk : chunk;
            int hl = snprintf(tmp, sizeof tmp, "$%zu\r\n", len);
            read_all(fd, tmp, (size_t)hl);
            read_all(fd, b + i * chunk, len);
            read_all(fd, tmp, 2);
        }
    }
    report("bare_get", bytes, iterations, now() - t);
    if (memcmp(a, b, bytes) != 0) die("bare_get", "data differ");
    free(hdr);
    free(cmds);
    free(iov);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: c_bench HOST PORT BYTES ITERATIONS\n");
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]), iterations = atoi(argv[4]);
    size_t bytes = (size_t)strtoull(argv[3], NULL, 10), n = bytes / 8;
    char address[300];
    snprintf(address, sizeof address, "%s:%d", host, port);

    double *a = malloc(n * 8), *b = malloc(n * 8);
    if (!a || !b) die("malloc", "out of memory");
    for (size_t i = 0; i < n; i++) a[i] = (double)i;
    memset(b, 0, n * 8);

    sd_client *c;
    if (sd_client_new(&c, address) != SD_OK) die("sd_client_new", sd_last_error(c));
    size_t shape[1] = {n};
    double t;
    int i;

    for (i = -1, t = 0; i < iterations; i++) {
        if (i == 0) t = now();
        if (sd_put_tensor(c, "bench_sd", a, SD_FLOAT64, 1, shape, SD_ORDER_C) != SD_OK)
            die("sd_put_tensor", sd_last_error(c));
    }
    report("sd_put", bytes, iterations, now() - t);

    for (i = -1, t = 0; i < iterations; i++) {
        void *data;
        sd_dtype dt;
        size_t nd, sh[SD_MAX_NDIM];
        sd_order o;
        if (i == 0) t = now();
        if (sd_get_tensor(c, "bench_sd", &data, &dt, &nd, sh, &o) != SD_OK) die("sd_get_tensor", sd_last_error(c));
        sd_free(data);
    }
    report("sd_get", bytes, iterations, now() - t);

    for (i = -1, t = 0; i < iterations; i++) {
        if (i == 0) t = now();
        if (sd_unpack_tensor(c, "bench_sd", b, n * 8, SD_FLOAT64, 1, shape, SD_ORDER_C) != SD_OK)
            die("sd_unpack_tensor", sd_last_error(c));
    }
    report("sd_unpack", bytes, iterations, now() - t);
    if (memcmp(a, b, n * 8) != 0) die("sd_unpack_tensor", "data differ");
    sd_delete_tensor(c, "bench_sd");
    sd_client_free(c);

    struct timeval tv = {10, 0};
    redisContext *r = redisConnectWithTimeout(host, port, tv);
    if (!r || r->err) die("redisConnect", r ? r->errstr : "out of memory");
    for (i = -1, t = 0; i < iterations; i++) {
        if (i == 0) t = now();
        redisReply *reply = redisCommand(r, "SET %s %b", "bench_raw", (const char *)a, bytes);
        if (!reply || reply->type == REDIS_REPLY_ERROR) die("SET", reply ? reply->str : r->errstr);
        freeReplyObject(reply);
    }
    report("hiredis_set", bytes, iterations, now() - t);
    for (i = -1, t = 0; i < iterations; i++) {
        if (i == 0) t = now();
        redisReply *reply = redisCommand(r, "GET %s", "bench_raw");
        if (!reply || reply->type != REDIS_REPLY_STRING || reply->len != (size_t)bytes)
            die("GET", reply ? "wrong reply" : r->errstr);
        freeReplyObject(reply);
    }
    report("hiredis_get", bytes, iterations, now() - t);
    redisReply *reply = redisCommand(r, "DEL bench_raw");
    freeReplyObject(reply);
    memset(b, 0, n * 8);
    pipelined(r->fd, (const char *)a, (char *)b, bytes, iterations);
    redisFree(r);
    free(a);
    free(b);
    return 0;
}
