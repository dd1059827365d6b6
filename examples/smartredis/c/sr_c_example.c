/*
 * sr_c_example.c: a heat-diffusion simulation instrumented with SmartRedis's
 * C API, as a SmartSim user writes one; it builds and runs unchanged on
 * simdask (only the library it links to differs).
 *
 * Every OUTPUT_EVERY steps it puts the temperature field, reads it back to
 * check it, puts a dataset with the field and its step/time metadata and
 * appends that dataset to the list "snapshots", so an analysis script can
 * follow the run. When a model named "heat_model" is stored (a driver put it
 * there) it also runs it on the last field and prints what it returned.
 *
 * The store comes from SSDB (SmartSim sets it), the key prefix from SSKEYOUT.
 * Built with MPI (USE_MPI, CMake does it when it finds MPI) every rank of
 * `mpirun -np N` runs its own rod: with N > 1 its keys end in _r<rank>
 * ("field_0100_r1"), and all ranks append to the one list "snapshots".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef USE_MPI
#include <mpi.h>
#endif

#include "c_client.h"
#include "c_dataset.h"
#include "sr_enums.h"
#include "srexception.h"

#define NX 64
#define STEPS 100
#define OUTPUT_EVERY 25

/* Stops the program with SmartRedis's message when a call fails. */
static void check(SRError rc, const char *what)
{
    if (rc != SRNoError) {
        fprintf(stderr, "%s failed (%d): %s\n", what, (int)rc, SRGetLastError());
        exit(1);
    }
}

int main(int argc, char **argv)
{
    int rank = 0, size = 1;
#ifdef USE_MPI
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
#else
    (void)argc;
    (void)argv;
#endif
    char tag[16] = ""; /* what this rank's key names end in */
    if (size > 1) snprintf(tag, sizeof tag, "_r%d", rank);
    void *client = NULL;
    check(SimpleCreateClient("heat", strlen("heat"), &client), "SimpleCreateClient");

    double u[NX], next[NX], back[NX];
    const double kappa = 0.2, dt = 0.1;
    for (int i = 0; i < NX; i++) u[i] = (1 + rank) * exp(-0.01 * (i - NX / 2) * (i - NX / 2)); /* a warm spot */
    size_t dims[1] = {NX};

    for (int step = 1; step <= STEPS; step++) {
        for (int i = 0; i < NX; i++) {
            double left = u[i > 0 ? i - 1 : i], right = u[i < NX - 1 ? i + 1 : i];
            next[i] = u[i] + kappa * (left - 2 * u[i] + right);
        }
        memcpy(u, next, sizeof u);
        if (step % OUTPUT_EVERY) continue;

        char name[32];
        snprintf(name, sizeof name, "field_%04d%s", step, tag);
        check(put_tensor(client, name, strlen(name), u, dims, 1, SRTensorTypeDouble, SRMemLayoutContiguous),
              "put_tensor");
        check(unpack_tensor(client, name, strlen(name), back, dims, 1, SRTensorTypeDouble, SRMemLayoutContiguous),
              "unpack_tensor");
        if (memcmp(back, u, sizeof u) != 0) {
            fprintf(stderr, "field %s came back different\n", name);
            return 1;
        }

        char ds_name[32];
        snprintf(ds_name, sizeof ds_name, "snapshot_%04d%s", step, tag);
        void *ds = NULL;
        double time = step * dt;
        int64_t step64 = step;
        check(CDataSet(ds_name, strlen(ds_name), &ds), "CDataSet");
        check(add_tensor(ds, "u", 1, u, dims, 1, SRTensorTypeDouble, SRMemLayoutContiguous), "add_tensor");
        check(add_meta_scalar(ds, "time", 4, &time, SRMetadataTypeDouble), "add_meta_scalar");
        check(add_meta_scalar(ds, "step", 4, &step64, SRMetadataTypeInt64), "add_meta_scalar");
        check(add_meta_string(ds, "units", 5, "kelvin", 6), "add_meta_string");
        check(put_dataset(client, ds), "put_dataset");
        check(append_to_list(client, "snapshots", strlen("snapshots"), ds), "append_to_list");
        check(DeallocateDataSet(&ds), "DeallocateDataSet");
        printf("step %d: put %s and %s\n", step, name, ds_name);
    }
#ifdef USE_MPI
    MPI_Barrier(MPI_COMM_WORLD); /* every rank's snapshots are in the list */
#endif

    int length = 0;
    check(get_list_length(client, "snapshots", strlen("snapshots"), &length), "get_list_length");
    printf("snapshots: %d\n", length);

    bool have_model = false;
    check(model_exists(client, "heat_model", strlen("heat_model"), &have_model), "model_exists");
    if (have_model) {
        char field[32], answer[32];
        snprintf(field, sizeof field, "field_%04d%s", STEPS, tag);
        snprintf(answer, sizeof answer, "heat_model_out%s", tag);
        const char *in[1] = {field}, *out[1] = {answer};
        size_t in_len[1] = {strlen(in[0])}, out_len[1] = {strlen(out[0])};
        check(run_model(client, "heat_model", strlen("heat_model"), in, in_len, 1, out, out_len, 1), "run_model");
        check(unpack_tensor(client, out[0], out_len[0], back, dims, 1, SRTensorTypeDouble, SRMemLayoutContiguous),
              "unpack_tensor");
        printf("heat_model: out[%d] = %.6f for u = %.6f\n", NX / 2, back[NX / 2], u[NX / 2]);
    } else {
        printf("no heat_model stored: inference skipped\n");
    }
    check(DeleteCClient(&client), "DeleteCClient");
    printf("rank %d of %d: done\n", rank, size);
#ifdef USE_MPI
    MPI_Finalize();
#endif
    return 0;
}
