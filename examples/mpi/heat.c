/*
 * heat.c: an MPI simulation that streams its field to simdask, the way a
 * real code does it. A 2-D temperature field theta[NZ][NX] is split along x
 * into one slab per rank (uneven when NX is not a multiple of the rank
 * count); every step each rank puts its slab as "theta_<step>_<rank>",
 * described: dimension names ("z", "x"), units, the step's model time, its x
 * coordinates, and where the slab sits in the global array. Python opens all
 * ranks' slabs as one xarray Dataset, theta(step, z, x), without knowing the
 * decomposition or the language.
 *
 * Run under mpirun, the ranks write one run (docs/protocol.md, "Runs") with
 * no code for it: a second execution is a new run whose keys never mix with
 * the first's, and the run ends when every rank has freed its client.
 *
 *   mpirun -np 3 ./heat_c [steps] [pause seconds] [offset]
 *
 * SIMDASK_ADDRESS names the store. Each rank writes its pid to pid.<rank>
 * (the tests kill one). Any failure prints the client's message and aborts
 * the job with a non-zero status.
 */
#include <mpi.h>
#include <simdask.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NZ 6
#define NX 20
#define DT 0.5 /* model time per step, seconds */

static sd_client *client;

static void check(int status, const char *what, int rank)
{
    if (status == SD_OK) return;
    fprintf(stderr, "heat_c rank %d: %s failed (%s): %s\n", rank, what, sd_status_name(status),
            client ? sd_last_error(client) : "no client");
    MPI_Abort(MPI_COMM_WORLD, 2);
}

/* The field's value at global (z, x) and step: the same in every language and decomposition. */
static double theta(int z, int x, int step, double offset) { return offset + 280.0 + step + 0.1 * z + 0.001 * x; }

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int steps = argc > 1 ? atoi(argv[1]) : 5;
    double pause = argc > 2 ? atof(argv[2]) : 0.2;
    double offset = argc > 3 ? atof(argv[3]) : 0.0;

    /* this rank's slab: columns x0 .. x0 + nx - 1 (the first NX % size ranks get one more) */
    int nx = NX / size + (rank < NX % size), x0 = rank * (NX / size) + (rank < NX % size ? rank : NX % size);
    double *slab = malloc(sizeof(double) * NZ * nx), *xs = malloc(sizeof(double) * nx);
    for (int i = 0; i < nx; i++) xs[i] = 100.0 * (x0 + i); /* metres */

    char path[32];
    snprintf(path, sizeof path, "pid.%d", rank);
    FILE *f = fopen(path, "w");
    if (f) { fprintf(f, "%d\n", (int)getpid()); fclose(f); }

    check(sd_client_new(&client, NULL), "sd_client_new", rank);
    sd_tensor_meta *meta = NULL;
    const char *dims[2] = {"z", "x"};
    size_t shape[2] = {NZ, (size_t)nx}, global[2] = {NZ, NX}, start[2] = {0, (size_t)x0};
    check(sd_tensor_meta_new(&meta), "sd_tensor_meta_new", rank);
    check(sd_tensor_meta_set_dims(meta, 2, dims), "set_dims", rank);
    check(sd_tensor_meta_set_attr_string(meta, "units", "K"), "set_attr units", rank);
    check(sd_tensor_meta_set_attr_string(meta, "long_name", "potential temperature"), "set_attr long_name", rank);
    check(sd_tensor_meta_set_coord_array(meta, "x", xs, (size_t)nx), "set_coord_array x", rank);
    check(sd_tensor_meta_set_block(meta, 2, global, start), "set_block", rank);

    for (int step = 0; step < steps; step++) {
        for (int z = 0; z < NZ; z++)
            for (int i = 0; i < nx; i++) slab[z * nx + i] = theta(z, x0 + i, step, offset);
        char name[64];
        snprintf(name, sizeof name, "theta_%d_%d", step, rank);
        check(sd_tensor_meta_set_coord_scalar(meta, "time", DT * step), "set_coord time", rank);
        check(sd_put_tensor_meta(client, name, slab, SD_FLOAT64, 2, shape, SD_ORDER_C, meta), name, rank);
        usleep((useconds_t)(pause * 1e6));
    }
    if (getenv("HEAT_HANG_RANK") && atoi(getenv("HEAT_HANG_RANK")) == rank) sleep(600); /* to be killed */
    sd_tensor_meta_free(meta);
    sd_client_free(client); /* ends this rank's part of the run */
    free(slab);
    free(xs);
    MPI_Finalize();
    return 0;
}
