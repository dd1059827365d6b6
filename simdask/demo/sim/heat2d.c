/*
 * heat2d.c: the demo's simulation, in C. A heated plate: the 2-D heat
 * equation on the unit square with cold walls (T = 0), a heater of strength
 * S (a Gaussian spot) and radiative cooling,
 *
 *     dT/dt = laplacian(T) + S g(x, y) - R(T),    R(T) = EPS * T^4,
 *
 * split into one band of rows per MPI rank (halo rows exchanged with MPI;
 * every wait on MPI sleeps rather than spins, as the demo runs more
 * processes than a laptop has cores).
 * Each step (DT_STEP of model time, in explicit sub-steps):
 *
 *   1. rank 0 reads the steering tensor CONTROL = [S, use_surrogate, seen]
 *      that the analysis writes (a plain key: it shows through this run's
 *      keys; seen is the last step the analysis saw) and broadcasts it; the
 *      simulation keeps at most LAG steps ahead of its analysis: it reads
 *      CONTROL again until seen >= step - LAG (for at most WAIT_S seconds,
 *      then it stops waiting for an analysis that seems gone);
 *   2. every rank puts its band as "Tin_<rank>" and asks the inference
 *      service for the cooling term: run_model(MODEL, Tin_<rank> ->
 *      cool_<rank>), timing the call; it also computes R(T) itself, and the
 *      largest difference over all ranks is the step's model_error; with
 *      use_surrogate the answer replaces the exact term (the "expensive
 *      physics" a network learned online);
 *   3. every SAMPLE_EVERY steps it sends (T, R(T)) as a training sample:
 *      dataset "sample_<step>_<rank>" appended to the list "samples";
 *   4. it advances T and puts its band as "T_<step>_<rank>", described:
 *      dims, units, its block of the global (NY, NX) field, x and y, and the
 *      step's time, heating S, surrogate flag and model_error as coordinates.
 *
 * At the end each rank puts "latency_<rank>" (ms of each run_model call) and
 * "io_<rank>" (bytes put, bytes read), then frees its client, which ends its
 * part of the run. MODEL "-": no inference (R computed here, no latency).
 *
 *   mpirun -np 2 heat2d_c NX NY STEPS EPS SAMPLE_EVERY CONTROL MODEL PAUSE_MS LAG
 *
 * heat2d.f90 and simdask/demo/standin.py are the same program. Any failure
 * prints the client's message and aborts the job with a non-zero status.
 */
#include <mpi.h>
#include <simdask.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DT_STEP 2e-3   /* model time per step */
#define HEAT_X 0.5     /* the heater's centre and width */
#define HEAT_Y 0.35
#define HEAT_W 0.08
#define WAIT_S 60.0 /* longest wait for the analysis to catch up */

static sd_client *client;
static int rank;

static void check(int status, const char *what)
{
    if (status == SD_OK) return;
    fprintf(stderr, "heat2d_c rank %d: %s failed (%s): %s\n", rank, what, sd_status_name(status),
            client ? sd_last_error(client) : "no client");
    MPI_Abort(MPI_COMM_WORLD, 2);
}

/* Waits for nonblocking MPI requests without spinning a core for long: the demo runs more processes than
 * a laptop has cores, and a rank waiting in a blocking collective would spin on the core another needs. */
static void settle(int n, MPI_Request *requests)
{
    for (int tries = 0;; tries++) {
        int done = 0;
        MPI_Testall(n, requests, &done, MPI_STATUSES_IGNORE);
        if (done) return;
        if (tries > 20) usleep(100);
    }
}

static void *alloc(size_t bytes)
{
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "heat2d_c rank %d: out of memory\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    return p;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 10) {
        if (rank == 0) fprintf(stderr, "usage: heat2d_c NX NY STEPS EPS SAMPLE_EVERY CONTROL MODEL PAUSE_MS LAG\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int nx = atoi(argv[1]), ny = atoi(argv[2]), steps = atoi(argv[3]), sample_every = atoi(argv[5]);
    int lag = atoi(argv[9]);
    double eps = atof(argv[4]), pause_ms = atof(argv[8]);
    const char *control = argv[6], *model = argv[7];
    int use_model = strcmp(model, "-") != 0;
    if (nx < 3 || ny < size + 2 || steps < 1 || sample_every < 1 || lag < 1) {
        if (rank == 0)
            fprintf(stderr, "heat2d_c: need NX >= 3, NY >= ranks + 2, STEPS >= 1, SAMPLE_EVERY >= 1, LAG >= 1\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }

    /* this rank's rows y0 .. y0 + n - 1 (the first ny % size ranks get one more), plus a halo row each side */
    int n = ny / size + (rank < ny % size), y0 = rank * (ny / size) + (rank < ny % size ? rank : ny % size);
    int up = rank > 0 ? rank - 1 : MPI_PROC_NULL, down = rank < size - 1 ? rank + 1 : MPI_PROC_NULL;
    double hx = 1.0 / (nx - 1), hy = 1.0 / (ny - 1);
    double dt_max = 0.4 / (1.0 / (hx * hx) + 1.0 / (hy * hy)); /* 0.8 of the explicit scheme's limit */
    int substeps = (int)ceil(DT_STEP / dt_max);
    double dt = DT_STEP / substeps;
    size_t cells = (size_t)n * (size_t)nx;
    double *t = alloc(sizeof(double) * (size_t)(n + 2) * nx), *next = alloc(sizeof(double) * (size_t)(n + 2) * nx);
    double *heat = alloc(sizeof(double) * cells), *xs = alloc(sizeof(double) * nx), *ys = alloc(sizeof(double) * n);
    double *r = alloc(sizeof(double) * cells), *latency = alloc(sizeof(double) * steps);
    float *tin = alloc(sizeof(float) * cells), *cool = alloc(sizeof(float) * cells), *rf = alloc(sizeof(float) * cells);
    for (int i = 0; i < nx; i++) xs[i] = i * hx;
    for (int j = 0; j < n; j++) ys[j] = (y0 + j) * hy;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < nx; i++) {
            double dx = xs[i] - HEAT_X, dy = ys[j] - HEAT_Y;
            heat[j * nx + i] = exp(-(dx * dx + dy * dy) / (2 * HEAT_W * HEAT_W));
        }

    check(sd_client_new(&client, NULL), "sd_client_new");
    sd_tensor_meta *meta = NULL;
    const char *dims[2] = {"y", "x"};
    size_t shape[2] = {(size_t)n, (size_t)nx}, global[2] = {(size_t)ny, (size_t)nx}, start[2] = {(size_t)y0, 0};
    check(sd_tensor_meta_new(&meta), "sd_tensor_meta_new");
    check(sd_tensor_meta_set_dims(meta, 2, dims), "set_dims");
    check(sd_tensor_meta_set_attr_string(meta, "units", "1"), "set_attr units");
    check(sd_tensor_meta_set_attr_string(meta, "long_name", "temperature"), "set_attr long_name");
    check(sd_tensor_meta_set_attr_string(meta, "language", "C"), "set_attr language");
    check(sd_tensor_meta_set_coord_array(meta, "x", xs, (size_t)nx), "set_coord_array x");
    check(sd_tensor_meta_set_coord_array(meta, "y", ys, (size_t)n), "set_coord_array y");
    check(sd_tensor_meta_set_block(meta, 2, global, start), "set_block");

    char tin_name[32], cool_name[32], name[64];
    snprintf(tin_name, sizeof tin_name, "Tin_%d", rank);
    snprintf(cool_name, sizeof cool_name, "cool_%d", rank);
    const char *inputs[1] = {tin_name}, *outputs[1] = {cool_name};
    double ctrl[3] = {0.0, 0.0, 1e9}, bytes[2] = {0.0, 0.0}; /* [S, use_surrogate, seen]; [put, read] */
    size_t two = 2, three = 3, flat = cells;
    int waiting = 1; /* for the analysis, while it keeps up */

    for (int step = 0; step < steps; step++) {
        double began = MPI_Wtime();
        for (double since = began; rank == 0; usleep(2000)) { /* none yet: keep the last values */
            int rc = sd_unpack_tensor(client, control, ctrl, sizeof ctrl, SD_FLOAT64, 1, &three, SD_ORDER_C);
            if (rc != SD_ERR_NOT_FOUND) check(rc, control);
            if (rc == SD_OK) bytes[1] += sizeof ctrl;
            if (rc != SD_OK || !waiting || step - ctrl[2] <= lag) break;
            if (MPI_Wtime() - since > WAIT_S) {
                fprintf(stderr, "heat2d_c: the analysis saw no step after %.0f for %.0f s: going on without waiting\n",
                        ctrl[2], WAIT_S);
                waiting = 0;
            }
        }
        MPI_Request requests[4];
        MPI_Ibcast(ctrl, 2, MPI_DOUBLE, 0, MPI_COMM_WORLD, requests);
        settle(1, requests);

        double error = 0.0;
        for (size_t k = 0; k < cells; k++) {
            double v = t[nx + k];
            r[k] = eps * v * v * v * v;
            tin[k] = (float)v;
            rf[k] = (float)r[k];
        }
        if (use_model) {
            check(sd_put_tensor(client, tin_name, tin, SD_FLOAT32, 2, shape, SD_ORDER_C), tin_name);
            double called = MPI_Wtime();
            check(sd_run_model(client, model, 1, inputs, 1, outputs, 0), "run_model");
            latency[step] = 1e3 * (MPI_Wtime() - called);
            check(sd_unpack_tensor(client, cool_name, cool, sizeof(float) * cells, SD_FLOAT32, 2, shape, SD_ORDER_C),
                  cool_name);
            bytes[0] += sizeof(float) * cells;
            bytes[1] += sizeof(float) * cells;
            for (size_t k = 0; k < cells; k++) {
                double d = fabs(cool[k] - r[k]);
                if (d > error) error = d;
                if (ctrl[1] != 0.0) r[k] = cool[k] > 0 ? cool[k] : 0.0;
            }
        }
        MPI_Iallreduce(MPI_IN_PLACE, &error, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD, requests);
        settle(1, requests);

        if (step % sample_every == 0) {
            sd_dataset *sample = NULL;
            snprintf(name, sizeof name, "sample_%d_%d", step, rank);
            check(sd_dataset_new(&sample, name), "sd_dataset_new");
            if (sd_dataset_add_tensor(sample, "T", tin, SD_FLOAT32, 1, &flat, SD_ORDER_C) != SD_OK ||
                sd_dataset_add_tensor(sample, "cooling", rf, SD_FLOAT32, 1, &flat, SD_ORDER_C) != SD_OK) {
                fprintf(stderr, "heat2d_c rank %d: %s\n", rank, sd_dataset_last_error(sample));
                MPI_Abort(MPI_COMM_WORLD, 2);
            }
            check(sd_put_dataset(client, sample), name);
            check(sd_append_to_list(client, "samples", sample), "append_to_list samples");
            sd_dataset_free(sample);
            bytes[0] += 2 * sizeof(float) * cells;
        }

        for (int s = 0; s < substeps; s++) {
            /* halo rows: the first row goes up, the last one down */
            MPI_Irecv(t, nx, MPI_DOUBLE, up, 1, MPI_COMM_WORLD, requests);
            MPI_Irecv(t + (size_t)(n + 1) * nx, nx, MPI_DOUBLE, down, 0, MPI_COMM_WORLD, requests + 1);
            MPI_Isend(t + nx, nx, MPI_DOUBLE, up, 0, MPI_COMM_WORLD, requests + 2);
            MPI_Isend(t + (size_t)n * nx, nx, MPI_DOUBLE, down, 1, MPI_COMM_WORLD, requests + 3);
            settle(4, requests);
            for (int j = 1; j <= n; j++) {
                int gy = y0 + j - 1;
                for (int i = 0; i < nx; i++) {
                    size_t k = (size_t)j * nx + i;
                    if (gy == 0 || gy == ny - 1 || i == 0 || i == nx - 1) {
                        next[k] = 0.0; /* cold walls */
                        continue;
                    }
                    double lap = (t[k - 1] - 2 * t[k] + t[k + 1]) / (hx * hx) +
                                 (t[k - nx] - 2 * t[k] + t[k + nx]) / (hy * hy);
                    next[k] = t[k] + dt * (lap + ctrl[0] * heat[k - nx] - r[k - nx]);
                }
            }
            double *swap = t;
            t = next;
            next = swap;
        }

        snprintf(name, sizeof name, "T_%d_%d", step, rank);
        check(sd_tensor_meta_set_coord_scalar(meta, "time", DT_STEP * (step + 1)), "set_coord time");
        check(sd_tensor_meta_set_coord_scalar(meta, "heating", ctrl[0]), "set_coord heating");
        check(sd_tensor_meta_set_coord_scalar(meta, "surrogate", use_model ? ctrl[1] : 0.0), "set_coord surrogate");
        check(sd_tensor_meta_set_coord_scalar(meta, "model_error", error), "set_coord model_error");
        check(sd_put_tensor_meta(client, name, t + nx, SD_FLOAT64, 2, shape, SD_ORDER_C, meta), name);
        bytes[0] += sizeof(double) * cells;
        double left = pause_ms * 1e-3 - (MPI_Wtime() - began);
        if (left > 0) usleep((useconds_t)(left * 1e6));
    }

    size_t nsteps = (size_t)steps;
    snprintf(name, sizeof name, "latency_%d", rank);
    if (use_model) check(sd_put_tensor(client, name, latency, SD_FLOAT64, 1, &nsteps, SD_ORDER_C), name);
    snprintf(name, sizeof name, "io_%d", rank);
    check(sd_put_tensor(client, name, bytes, SD_FLOAT64, 1, &two, SD_ORDER_C), name);
    sd_tensor_meta_free(meta);
    sd_client_free(client); /* ends this rank's part of the run */
    free(t);
    free(next);
    free(heat);
    free(xs);
    free(ys);
    free(r);
    free(latency);
    free(tin);
    free(cool);
    free(rf);
    MPI_Finalize();
    return 0;
}
