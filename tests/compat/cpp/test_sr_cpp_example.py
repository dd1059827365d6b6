"""examples/smartredis/cpp: the SmartSim-style C++ simulation built as its README says (CMake's
find_package(smartredis)) and statically through pkg-config, run against a store with its own serving loop,
and its output read back from Python and checked against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from simdask_tests_native import ROOT, run, run_program

import simdask

EXAMPLE = ROOT / "examples" / "smartredis" / "cpp"
NX, NY, STEPS, EVERY = 24, 16, 30, 10
KAPPA = 0.2


@pytest.fixture(scope="module")
def heat_builds(smartredis_native, tmp_path_factory):
    """{"cmake": the example built by its CMakeLists.txt, "static": linked statically through pkg-config}."""
    base = tmp_path_factory.mktemp("example-sr-cpp")
    smartredis_native.cmake_build(EXAMPLE, base / "cmake", "-DCMAKE_BUILD_TYPE=Debug")
    static = base / "heat_static"
    cflags = smartredis_native.pkg_config("--cflags", "smartredis")
    ours = ("-lsmartredis", "-lsimdask")  # linked statically; the rest (hiredis, libstdc++) as shared libraries
    libs = [a for a in smartredis_native.pkg_config("--static", "--libs", "smartredis") if a not in ours]
    run(
        ["g++", "-std=c++17", *cflags, EXAMPLE / "heat.cpp", "-o", static]
        + ["-Wl,-Bstatic", *ours, "-Wl,-Bdynamic", *libs],
        env=smartredis_native.env,
    )
    return {"cmake": base / "cmake" / "heat", "static": static}


def reference_field() -> np.ndarray:
    """heat.cpp's field after STEPS steps, in numpy."""
    u = np.zeros((NX, NY))
    u[NX // 3 : 2 * NX // 3, NY // 3 : 2 * NY // 3] = 1.0
    for _ in range(STEPS):
        nxt = np.zeros_like(u)
        nxt[1:-1, 1:-1] = u[1:-1, 1:-1] + KAPPA * (
            u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4.0 * u[1:-1, 1:-1]
        )
        u = nxt
    return u


@pytest.mark.parametrize("build", ["cmake", "static"])
def test_heat_example(heat_builds, serving_store, build, sr_env):
    """Each build writes under its own SSKEYOUT (as SmartSim names ensemble members), so both share the store."""
    env = sr_env(serving_store, SSKEYOUT=build, SSKEYIN=build)
    proc = run_program([heat_builds[build], str(NX), str(NY), str(STEPS), str(EVERY)], env, timeout=120)
    assert "row heat from the serving loop matches: yes" in proc.stdout, proc.stdout
    assert f"done: {STEPS} steps of {NX}x{NY}" in proc.stdout
    assert f"step {STEPS - 1}: dataset state_{STEPS - 1}, {STEPS // EVERY} in the list" in proc.stdout

    expected = reference_field()
    with simdask.Client(serving_store.address) as client:
        np.testing.assert_allclose(client.get_tensor(f"{build}.u_{STEPS - 1}"), expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(client.get_tensor(f"{build}.row_heat"), expected.sum(axis=1), rtol=1e-12)
        client.use_list_ensemble_prefix(False)
        client.use_dataset_ensemble_prefix(False)
        states = client.get_datasets_from_list(f"{build}.states")
        assert [ds.get_name() for ds in states] == [f"state_{s}" for s in range(EVERY - 1, STEPS, EVERY)]
        assert states[-1].get_meta_scalars("time").tolist() == [STEPS * KAPPA]
        assert states[-1].get_meta_strings("units") == ["K"]
