/*
 * heat.cpp: a 2-D heat equation instrumented with SmartRedis's C++ API, as a
 * SmartSim simulation is: unchanged, it runs on a simdask store.
 *
 *   SSDB=127.0.0.1:6379 ./heat [nx] [ny] [steps] [every]
 *
 * Every step it puts the field as tensor "u_<step>" (float64, shape (nx, ny))
 * and reads it back into row pointers; every `every` steps it puts a dataset "state_<step>"
 * (the field, the model time, the units) and appends it to the aggregation
 * list "states"; at the end it stores a TorchScript script and runs it on the
 * last field in the store's serving loop (the in-situ analysis RedisAI used
 * to run inside the database): the heat of each row, checked against its own.
 */
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "client.h"

namespace {

const double kDiffusivity = 0.2; /* stable for <= 0.25 */

/* One explicit step: interior points only, the boundary stays at 0. */
void advance(std::vector<double>& u, std::vector<double>& next, size_t nx, size_t ny)
{
    for (size_t i = 0; i < nx; i++) {
        for (size_t j = 0; j < ny; j++) {
            const size_t k = i * ny + j;
            if (i == 0 || j == 0 || i == nx - 1 || j == ny - 1) {
                next[k] = 0.0;
                continue;
            }
            next[k] = u[k] + kDiffusivity * (u[k + ny] + u[k - ny] + u[k + 1] + u[k - 1] - 4.0 * u[k]);
        }
    }
    u.swap(next);
}

const char kAnalysis[] =
    "def row_heat(u):\n"
    "    return u.sum(dim=1)\n";

}  // namespace

int main(int argc, char** argv)
{
    const size_t nx = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
    const size_t ny = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 48;
    const int steps = argc > 3 ? std::atoi(argv[3]) : 40;
    const int every = argc > 4 ? std::atoi(argv[4]) : 10;
    if (nx < 3 || ny < 3 || steps < 1 || every < 1) {
        std::fprintf(stderr, "usage: heat [nx >= 3] [ny >= 3] [steps >= 1] [every >= 1]\n");
        return 2;
    }

    try {
        SmartRedis::Client client("heat");

        /* a hot square in the middle of a cold plate */
        std::vector<double> u(nx * ny, 0.0), next(nx * ny, 0.0), check(nx * ny);
        std::vector<double*> check_rows(nx); /* the read-back buffer as a double** (SRMemLayoutNested) */
        for (size_t i = 0; i < nx; i++)
            check_rows[i] = &check[i * ny];
        for (size_t i = nx / 3; i < 2 * nx / 3; i++)
            for (size_t j = ny / 3; j < 2 * ny / 3; j++)
                u[i * ny + j] = 1.0;

        for (int step = 0; step < steps; step++) {
            advance(u, next, nx, ny);
            const std::string key = "u_" + std::to_string(step);
            client.put_tensor(key, u.data(), {nx, ny}, SRTensorTypeDouble, SRMemLayoutContiguous);
            client.unpack_tensor(key, check_rows.data(), {nx, ny}, SRTensorTypeDouble, SRMemLayoutNested);
            if (check != u) {
                std::fprintf(stderr, "heat: %s came back different\n", key.c_str());
                return 1;
            }
            if ((step + 1) % every == 0) {
                SmartRedis::DataSet state("state_" + std::to_string(step));
                state.add_tensor("u", u.data(), {nx, ny}, SRTensorTypeDouble, SRMemLayoutContiguous);
                const double time = (step + 1) * kDiffusivity;
                state.add_meta_scalar("time", &time, SRMetadataTypeDouble);
                state.add_meta_string("units", "K");
                client.put_dataset(state);
                client.append_to_list("states", state);
                std::printf("step %d: dataset %s, %d in the list\n", step, state.get_name().c_str(),
                            client.get_list_length("states"));
            }
        }

        /* in-situ analysis in the store's serving loop */
        const std::string last = "u_" + std::to_string(steps - 1);
        client.set_script("analysis", "CPU", kAnalysis);
        client.run_script("analysis", "row_heat", {last}, {"row_heat"});
        std::vector<double> rows(nx);
        client.unpack_tensor("row_heat", rows.data(), {nx}, SRTensorTypeDouble, SRMemLayoutContiguous);
        double worst = 0.0;
        for (size_t i = 0; i < nx; i++) {
            double sum = 0.0;
            for (size_t j = 0; j < ny; j++)
                sum += u[i * ny + j];
            worst = std::fmax(worst, std::fabs(sum - rows[i]));
        }
        std::printf("row heat from the serving loop matches: %s\n", worst < 1e-9 ? "yes" : "no");
        std::printf("done: %d steps of %zux%zu\n", steps, nx, ny);
        return worst < 1e-9 ? 0 : 1;
    } catch (const SmartRedis::Exception& e) {
        std::fprintf(stderr, "heat: %s: %s\n", e.where(), e.what());
        return 1;
    }
}
