// heat.cpp: a 2-D heat equation in C++17 that streams its field to a simdask
// store, obeys a steering value from the analysis, and asks a stored model for
// a correction every step once the analysis has stored one.
//
//   SIMDASK_ADDRESS=127.0.0.1:6379 ./heat [nx] [ny] [steps]
//
// Keys (docs/protocol.md):
//   T.<step>     the field after the step, float64 (ny, nx), C order, described:
//                dims ("y", "x"), coordinates x and y (m) and time (s), attrs
//                units, long_name, kappa (the diffusivity of the step) and
//                corrected (1 when the model's correction was added);
//   kappa        float64 scalar the analysis writes: taken (and deleted) at the
//                start of any step; at the halfway step the simulation waits
//                up to 10 s for it, a synchronous steering point;
//   correction   a model (any backend): when stored, each step puts the field as
//                "T.in", runs the model and adds its output "T.correction" (same
//                shape) to the field;
//   simdask:end  the end-of-run marker (int64 number of steps).
#include "simdask.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {

std::string step_key(int step) {
    char key[32];
    std::snprintf(key, sizeof key, "T.%04d", step);
    return key;
}

// Explicit finite differences on a grid of spacing dx = 1 m, dt = 1 s, zero
// boundary; stable for kappa <= 0.25.
class HeatSimulation {
public:
    HeatSimulation(simdask::Client &client, std::size_t nx, std::size_t ny, double kappa)
        : client_(client), nx_(nx), ny_(ny), kappa_(kappa), t_(nx * ny), next_(nx * ny) {
        std::vector<double> x(nx), y(ny);
        for (std::size_t i = 0; i < nx; i++) x[i] = static_cast<double>(i);
        for (std::size_t j = 0; j < ny; j++) y[j] = static_cast<double>(j);
        for (std::size_t j = 0; j < ny; j++) {
            for (std::size_t i = 0; i < nx; i++) {
                double dx = (x[i] - 0.5 * static_cast<double>(nx)) / (0.1 * static_cast<double>(nx));
                double dy = (y[j] - 0.5 * static_cast<double>(ny)) / (0.1 * static_cast<double>(ny));
                t_[j * nx + i] = std::exp(-dx * dx - dy * dy);
            }
        }
        meta_.dims({"y", "x"}).coord("x", x).coord("y", y);
        meta_.attr("units", "K").attr("long_name", "temperature anomaly");
    }

    // One time step: steering, diffusion, the model's correction, then the field to the store.
    void step(int n, bool wait_for_steering) {
        if (wait_for_steering) client_.poll_tensor("kappa", 50, 200);
        if (auto kappa = client_.take_scalar("kappa")) {
            kappa_ = *kappa;
            std::cout << "step " << n << ": kappa = " << kappa_ << " from the analysis" << std::endl;
        }
        diffuse();
        bool corrected = correct();
        meta_.coord("time", static_cast<double>(n + 1)).attr("kappa", kappa_).attr("corrected", corrected ? 1LL : 0LL);
        client_.put(step_key(n), t_.data(), {ny_, nx_}, &meta_);
    }

    double max() const { return *std::max_element(t_.begin(), t_.end()); }
    int model_calls() const { return model_calls_; }

private:
    void diffuse() {
        std::fill(next_.begin(), next_.end(), 0.0);
        for (std::size_t j = 1; j + 1 < ny_; j++) {
            for (std::size_t i = 1; i + 1 < nx_; i++) {
                std::size_t k = j * nx_ + i;
                double lap = (t_[k + 1] - 2.0 * t_[k] + t_[k - 1]) + (t_[k + nx_] - 2.0 * t_[k] + t_[k - nx_]);
                next_[k] = t_[k] + kappa_ * lap;
            }
        }
        t_.swap(next_);
    }

    // Adds the stored model's output to the field; false when no model is stored.
    bool correct() {
        if (!client_.model_exists("correction")) return false;
        client_.put("T.in", t_.data(), {ny_, nx_});
        client_.run_model("correction", {"T.in"}, {"T.correction"}, 30000);
        client_.read("T.correction", {ny_, nx_}, correction_);
        for (std::size_t k = 0; k < t_.size(); k++) t_[k] += correction_[k];
        if (model_calls_++ == 0) std::cout << "correcting with model 'correction'" << std::endl;
        return true;
    }

    simdask::Client &client_;
    std::size_t nx_, ny_;
    double kappa_;
    std::vector<double> t_, next_, correction_;
    simdask::TensorMeta meta_;
    int model_calls_ = 0;
};

} // namespace

int main(int argc, char **argv) {
    long nx = argc > 1 ? std::atol(argv[1]) : 64;
    long ny = argc > 2 ? std::atol(argv[2]) : 48;
    int steps = argc > 3 ? std::atoi(argv[3]) : 40;
    if (nx < 3 || ny < 3 || steps < 1) {
        std::cerr << "usage: heat [nx >= 3] [ny >= 3] [steps >= 1]" << std::endl;
        return 2;
    }
    try {
        simdask::Client client; // SIMDASK_ADDRESS
        client.delete_tensor("simdask:end"); // a marker left by an earlier run must not end this one
        HeatSimulation sim(client, static_cast<std::size_t>(nx), static_cast<std::size_t>(ny), 0.1);
        for (int n = 0; n < steps; n++) sim.step(n, n == steps / 2);
        client.put_scalar<std::int64_t>("simdask:end", steps);
        std::cout << "done: " << steps << " steps of " << ny << " x " << nx << ", max T = " << sim.max() << ", "
                  << sim.model_calls() << " model calls" << std::endl;
    } catch (const simdask::Error &e) {
        std::cerr << "heat: " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
