"""examples/cpp: simdask.h from C++ (it compiles warning-free as C++11 to C++20), and the C++17 heat example built
with CMake against the installed C client, run against a store with its own serving loop: its described field,
the steering value it obeys and the stored model it calls, checked from Python against numpy."""

from __future__ import annotations

import shutil
import subprocess
import threading

import numpy as np
import pytest
from simdask_tests_native import ROOT, SAN_FLAGS, native_env, run, run_program

import simdask

EXAMPLE = ROOT / "examples" / "cpp"
NX, NY, STEPS = 32, 24, 20
COOLING = -0.01  # the correction model's rate: dT = COOLING * T

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not found (apt-get install g++)")


@pytest.fixture(scope="module")
def heat(native_c, tmp_path_factory):
    """examples/cpp built through find_package(simdask), its warnings errors."""
    build = tmp_path_factory.mktemp("example-cpp")
    native_c.cmake_build(EXAMPLE, build, f"-DCMAKE_CXX_FLAGS={' '.join(['-Werror', *SAN_FLAGS])}")
    return build / "heat"


@pytest.fixture
def serving_store(tmp_path):
    """A store with one serving loop of its own, for the model the example calls (one per test: a loop keeps
    a model it loaded while its version is unchanged, and a flushed store numbers versions from 1 again)."""
    pytest.importorskip("onnxruntime", reason="the example's model runs on onnxruntime (simdask[onnx])")
    with simdask.Store(serve=1, run_dir=tmp_path / "store") as store:
        yield store


@pytest.fixture
def client(serving_store):
    with simdask.Client(serving_store.address) as client:
        yield client


def cooling_model(rate_as_input: bool = False):
    """An ONNX model of a learned correction, dT = COOLING * T, for a float64 field of any shape; with
    ``rate_as_input``, one that takes the rate as a second input, which the example does not give."""
    onnx = pytest.importorskip("onnx", reason="building the ONNX model needs onnx (simdask[onnx])")
    from onnx import TensorProto, helper

    field = helper.make_tensor_value_info("T", TensorProto.DOUBLE, ["ny", "nx"])
    rate = helper.make_tensor("rate", TensorProto.DOUBLE, [], [COOLING])
    graph = helper.make_graph(
        [helper.make_node("Mul", ["T", "rate"], ["dT"])],
        "cooling",
        [field, helper.make_tensor_value_info("rate", TensorProto.DOUBLE, [])] if rate_as_input else [field],
        [helper.make_tensor_value_info("dT", TensorProto.DOUBLE, ["ny", "nx"])],
        [] if rate_as_input else [rate],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def reference(corrected: bool) -> np.ndarray:
    """heat.cpp's scheme in numpy: every step's field, kappa 0.1 then 0.2 from the halfway step."""
    x = (np.arange(NX) - 0.5 * NX) / (0.1 * NX)
    y = (np.arange(NY) - 0.5 * NY) / (0.1 * NY)
    t = np.exp(-(x[None, :] ** 2) - y[:, None] ** 2)
    fields = []
    for step in range(STEPS):
        kappa = 0.1 if step < STEPS // 2 else 0.2
        lap = (t[1:-1, 2:] - 2.0 * t[1:-1, 1:-1] + t[1:-1, :-2]) + (t[2:, 1:-1] - 2.0 * t[1:-1, 1:-1] + t[:-2, 1:-1])
        nxt = np.zeros_like(t)
        nxt[1:-1, 1:-1] = t[1:-1, 1:-1] + kappa * lap
        t = nxt + COOLING * nxt if corrected else nxt
        fields.append(t)
    return np.stack(fields)


def run_steered(heat, client: simdask.Client, address: str) -> subprocess.CompletedProcess:
    """Run the example while a Python thread writes kappa = 0.2 once the step before the halfway one is stored."""

    def steer() -> None:
        if client.poll_tensor(f"T.{STEPS // 2 - 1:04d}", 20, 500):
            client.put_tensor("kappa", np.float64(0.2))

    thread = threading.Thread(target=steer)
    thread.start()
    try:
        return run_program([heat, str(NX), str(NY), str(STEPS)], native_env(address), timeout=120)
    finally:
        thread.join()


@pytest.mark.parametrize("std", ["c++11", "c++17", "c++20"])
def test_simdask_h_compiles_cleanly_as_cpp(native_c, tmp_path, std):
    source = tmp_path / "header.cpp"
    source.write_text(
        "#include <simdask.h>\n"
        "int main() {\n"
        "    sd_client *c = nullptr;\n"
        "    int rc = sd_client_new(&c, nullptr);\n"
        "    sd_client_free(c);\n"
        "    return rc == SD_OK ? 0 : 1;\n"
        "}\n"
    )
    flags = ["-Wall", "-Wextra", "-pedantic", "-Werror", "-Wold-style-cast", "-Wzero-as-null-pointer-constant"]
    run(["g++", f"-std={std}", *flags, "-I", native_c.prefix / "include", "-c", source, "-o", tmp_path / "h.o"])


def check_run(proc: subprocess.CompletedProcess, client: simdask.Client, with_model: bool) -> None:
    """What the example printed and stored: every step's described field, as numpy computes it."""
    assert f"step {STEPS // 2}: kappa = 0.2 from the analysis" in proc.stdout
    assert ("correcting with model 'correction'" in proc.stdout) == with_model
    assert f"done: {STEPS} steps of {NY} x {NX}" in proc.stdout
    assert f"{STEPS if with_model else 0} model calls" in proc.stdout
    assert not client.tensor_exists("kappa")  # taken once
    assert client.get_tensor("simdask:end") == STEPS

    infos = client.tensor_infos([f"T.{step:04d}" for step in range(STEPS)])
    assert [i.attrs["kappa"] for i in infos] == [0.1] * (STEPS // 2) + [0.2] * (STEPS - STEPS // 2)
    assert {i.attrs["corrected"] for i in infos} == {int(with_model)}
    last = infos[-1]
    assert (last.dtype, last.shape, last.order, last.dims) == (np.dtype("float64"), (NY, NX), "C", ("y", "x"))
    assert (last.attrs["units"], last.attrs["long_name"]) == ("K", "temperature anomaly")
    ds = simdask.open_dataset("T.{step:04d}", client, name="T").compute()
    assert ds["T"].dims == ("step", "y", "x")
    np.testing.assert_array_equal(ds["x"], np.arange(NX, dtype=float))
    np.testing.assert_array_equal(ds["time"], np.arange(1, STEPS + 1, dtype=float))
    np.testing.assert_allclose(ds["T"].values, reference(with_model), rtol=1e-12, atol=1e-15)


def test_cpp_example_streams_its_field_obeys_steering_and_adds_the_model_correction(heat, client, serving_store):
    client.set_model("correction", cooling_model(), "ONNX")
    check_run(run_steered(heat, client, serving_store.address), client, with_model=True)


def test_cpp_example_without_a_stored_model_runs_uncorrected(heat, store_client, c_store):
    check_run(run_steered(heat, store_client, c_store.address), store_client, with_model=False)


def test_cpp_example_turns_a_failed_call_into_an_exception(heat, client, serving_store):
    """A model that the field does not fit (it takes two inputs) fails run_model: simdask::Error, with the
    message of the C client naming the model, ends the program with exit code 1."""
    client.set_model("correction", cooling_model(rate_as_input=True), "ONNX")
    proc = run_program([heat, str(NX), str(NY), str(STEPS)], native_env(serving_store.address), expect_ok=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.startswith("heat: run_model correction failed (SD_ERR_MODEL): "), proc.stderr
    assert "'correction'" in proc.stderr and "takes 2 inputs" in proc.stderr, proc.stderr
    assert not client.tensor_exists("T.0000")  # nothing published after the failed step
