/*
 * diffusion.c: a 1-D heat equation that streams its field to a simdask store
 * and takes a steering value back from Python.
 *
 *   SIMDASK_ADDRESS=127.0.0.1:6379 ./diffusion [nx] [steps]
 *
 * Every step puts the field as tensor "u.<step>" (float64, shape (nx,)).
 * Halfway it polls for the scalar tensor "kappa" (the diffusivity) that a
 * Python process writes (see steer.py), uses it from then on, and deletes it.
 * The run ends with the end-of-run marker "simdask:end" (docs/protocol.md),
 * which tells simdask.watch readers that no step follows.
 */
#include <simdask.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int check(sd_client *c, int rc, const char *what)
{
    if (rc != SD_OK) fprintf(stderr, "diffusion: %s failed: %s\n", what, sd_last_error(c));
    return rc;
}

int main(int argc, char **argv)
{
    size_t nx = argc > 1 ? (size_t)atol(argv[1]) : 200;
    int steps = argc > 2 ? atoi(argv[2]) : 50;
    double kappa = 0.1; /* stable for kappa <= 0.5 */
    sd_client *c = NULL;

    if (nx < 3 || steps < 1) {
        fprintf(stderr, "usage: diffusion [nx >= 3] [steps >= 1]\n");
        return 2;
    }
    if (check(c, sd_client_new(&c, NULL), "connecting (is SIMDASK_ADDRESS set?)") != SD_OK) {
        sd_client_free(c);
        return 1;
    }
    sd_delete_tensor(c, "simdask:end"); /* a marker left by an earlier run must not end this one */
    double *u = malloc(nx * sizeof *u), *next = malloc(nx * sizeof *next);
    if (!u || !next) return 1;
    for (size_t i = 0; i < nx; i++) {
        double x = ((double)i - (double)nx / 2) / ((double)nx / 20);
        u[i] = exp(-x * x);
    }
    for (int step = 0; step < steps; step++) {
        next[0] = next[nx - 1] = 0.0;
        for (size_t i = 1; i + 1 < nx; i++) next[i] = u[i] + kappa * (u[i + 1] - 2.0 * u[i] + u[i - 1]);
        double *t = u;
        u = next;
        next = t;

        char name[32];
        snprintf(name, sizeof name, "u.%04d", step);
        if (check(c, sd_put_tensor(c, name, u, SD_FLOAT64, 1, &nx, SD_ORDER_C), "put_tensor") != SD_OK) break;

        if (step == steps / 2) { /* halfway: wait for Python's steering value */
            int found = 0;
            if (check(c, sd_poll_tensor(c, "kappa", 50, 200, &found), "poll_tensor") != SD_OK) break;
            if (found && check(c, sd_unpack_tensor(c, "kappa", &kappa, sizeof kappa, SD_FLOAT64, 0, NULL, SD_ORDER_C),
                               "unpack_tensor") == SD_OK) {
                sd_delete_tensor(c, "kappa");
                printf("step %d: kappa = %g from Python\n", step, kappa);
            } else {
                printf("step %d: no steering value, kappa stays %g\n", step, kappa);
            }
            fflush(stdout);
        }
    }
    int64_t written = steps;
    check(c, sd_put_tensor(c, "simdask:end", &written, SD_INT64, 0, NULL, SD_ORDER_C), "put_tensor simdask:end");
    double umax = 0;
    for (size_t i = 0; i < nx; i++) umax = u[i] > umax ? u[i] : umax;
    printf("done: %d steps of %zu points, max u = %.6f\n", steps, nx, umax);
    free(u);
    free(next);
    sd_client_free(c);
    return 0;
}
