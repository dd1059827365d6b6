/*
 * c_store_serving.c: sd_run_model against a store that runs its own serving
 * loops (simdask.Store(serve=N)), or against one with none.
 *
 *   c_store_serving run       puts x = [1, 2, 3, 4] (float32), runs model "double" (x -> y), prints y,
 *                             then runs model "no_such_model": "UNKNOWN <status> <ms> <message>"
 *   c_store_serving none      runs model "double" with a 30 s timeout: "NONE <status> <ms> <message>"
 *
 * The store's address comes from SIMDASK_ADDRESS, its password from the
 * credentials file its store wrote. Exits 1 on any unexpected status.
 */
#define _POSIX_C_SOURCE 200809L
#include <simdask.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int failed(sd_client *c, const char *what, int rc)
{
    fprintf(stderr, "%s: %s: %s\n", what, sd_status_name(rc), sd_last_error(c));
    return 1;
}

/* Runs `model` on x -> y and prints "<label> <status> <ms> <message>". */
static int timed_run(sd_client *c, const char *label, const char *model)
{
    const char *in[1] = {"x"}, *out[1] = {"y"};
    long long start = now_ms();
    int rc = sd_run_model(c, model, 1, in, 1, out, 30000);
    printf("%s %s %lld %s\n", label, sd_status_name(rc), now_ms() - start, rc == SD_OK ? "" : sd_last_error(c));
    return rc;
}

int main(int argc, char **argv)
{
    sd_client *c = NULL;
    int rc = sd_client_new(&c, NULL);
    if (rc != SD_OK) return failed(c, "connect", rc);
    const float x[4] = {1, 2, 3, 4};
    const size_t shape[1] = {4};
    if ((rc = sd_put_tensor(c, "x", x, SD_FLOAT32, 1, shape, SD_ORDER_C)) != SD_OK) return failed(c, "put x", rc);
    int status = 0;
    if (argc > 1 && strcmp(argv[1], "run") == 0) {
        const char *in[1] = {"x"}, *out[1] = {"y"};
        float y[4];
        if ((rc = sd_run_model(c, "double", 1, in, 1, out, 60000)) != SD_OK) return failed(c, "run double", rc);
        if ((rc = sd_unpack_tensor(c, "y", y, sizeof y, SD_FLOAT32, 1, shape, SD_ORDER_C)) != SD_OK)
            return failed(c, "get y", rc);
        printf("Y %g %g %g %g\n", y[0], y[1], y[2], y[3]);
        status = timed_run(c, "UNKNOWN", "no_such_model") == SD_ERR_MODEL ? 0 : 1;
    } else if (argc > 1 && strcmp(argv[1], "none") == 0) {
        status = timed_run(c, "NONE", "double") == SD_ERR_MODEL ? 0 : 1;
    } else {
        fprintf(stderr, "usage: c_store_serving run|none\n");
        status = 2;
    }
    sd_client_free(c);
    return status;
}
