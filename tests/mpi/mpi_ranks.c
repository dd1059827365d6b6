/*
 * Each MPI rank writes its block of a 2-D field over 3 steps, reads its
 * neighbour's block back, then, while the test freezes the store, finds its
 * put refused with SD_ERR_TIMEOUT within the I/O timeout, and puts again
 * once the store is back. The test and the ranks meet through files in the
 * current directory (stdin reaches rank 0 only under mpirun): each rank
 * writes ready.<r>, waits for "frozen", reports, writes done.<r>, waits
 * for "thawed". Every wait is bounded; any failure exits non-zero.
 */
#include <mpi.h>
#include <simdask.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NX 32
#define NY 16

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void touch(const char *name, int rank)
{
    char path[64];
    snprintf(path, sizeof path, "%s.%d", name, rank);
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
}

static int wait_for(const char *path)
{
    for (double end = now() + 60; now() < end; usleep(20000))
        if (access(path, F_OK) == 0) return 0;
    return -1;
}

static int fail(sd_client *c, int rank, const char *what)
{
    fprintf(stderr, "rank %d: %s: %s\n", rank, what, c ? sd_last_error(c) : "");
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    sd_client *c = NULL;
    if (sd_client_new(&c, NULL) != SD_OK) return fail(c, rank, "sd_client_new");

    static double u[NY][NX], back[NY][NX];
    size_t shape[2] = {NY, NX};
    char name[64];
    for (int step = 0; step < 3; step++) {
        for (int j = 0; j < NY; j++)
            for (int i = 0; i < NX; i++) u[j][i] = rank * 1000 + step * 100 + j * NX + i;
        snprintf(name, sizeof name, "c.rank%d.step%d", rank, step);
        if (sd_put_tensor(c, name, u, SD_FLOAT64, 2, shape, SD_ORDER_C) != SD_OK) return fail(c, rank, name);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    int other = (rank + 1) % size;
    snprintf(name, sizeof name, "c.rank%d.step2", other);
    if (sd_unpack_tensor(c, name, back, sizeof back, SD_FLOAT64, 2, shape, SD_ORDER_C) != SD_OK)
        return fail(c, rank, name);
    if (back[NY - 1][NX - 1] != other * 1000 + 200 + NY * NX - 1) return fail(NULL, rank, "neighbour's block");
    int rc = sd_unpack_tensor(c, "c.missing", back, sizeof back, SD_FLOAT64, 2, shape, SD_ORDER_C);
    if (rc != SD_ERR_NOT_FOUND || !strstr(sd_last_error(c), "c.missing")) return fail(c, rank, "missing key");

    touch("ready", rank);
    if (wait_for("frozen") != 0) return fail(NULL, rank, "no 'frozen' in time");
    double t0 = now();
    rc = sd_put_tensor(c, "c.frozen", u, SD_FLOAT64, 2, shape, SD_ORDER_C);
    printf("rank %d: frozen put %s after %.0f ms\n", rank, sd_status_name(rc), (now() - t0) * 1000);
    fflush(stdout);
    if (rc != SD_ERR_TIMEOUT) return fail(c, rank, "put into a frozen store");
    touch("done", rank);
    if (wait_for("thawed") != 0) return fail(NULL, rank, "no 'thawed' in time");
    snprintf(name, sizeof name, "c.rank%d.after", rank);
    if (sd_put_tensor(c, name, u, SD_FLOAT64, 2, shape, SD_ORDER_C) != SD_OK) return fail(c, rank, name);
    sd_client_free(c);
    MPI_Finalize();
    return 0;
}
