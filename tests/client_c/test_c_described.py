"""Tensors described from C (``sd_tensor_meta``, docs/protocol.md "Describing a tensor"), opened in Python.

``c_tests.c``'s ``described`` case writes a 2-D field theta[nz][nx] as 2 x 3 uneven blocks, each as one rank
would: once as C lays it out, once as the same memory seen as Fortran's theta(nx, nz). Both open as the Dataset
Python expects (names, units, time coordinate, the global array), and as the same field written from Python as
F-ordered blocks.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import xarray as xr
from simdask_tests_native import native_env, run_program

import simdask

NZ, NX = 5, 8
ROWS, COLS = (0, 2, 5), (0, 4, 5, 8)


def expected() -> xr.Dataset:
    step, z, x = np.meshgrid(np.arange(2), np.arange(NZ), np.arange(NX), indexing="ij")
    attrs = {"units": "K", "long_name": "potential temperature", "levels": NZ, "scale": 1.0}
    return xr.Dataset(
        {"theta": (("step", "z", "x"), 100.0 * step + 10.0 * z + x + 0.25, attrs)},
        coords={"step": [0, 1], "time": ("step", [0.0, 60.0]), "x": np.arange(NX) * 0.5 + 0.1},
    )


def put_from_python_as_fortran(client: simdask.Client, truth: xr.Dataset) -> None:
    """Each block as a Fortran rank's theta(nx, nz): F order, dims, shape and start in Fortran's index order."""
    theta, x = truth.theta.values, truth.x.values
    for step, (i, j) in itertools.product(range(2), itertools.product(range(2), range(3))):
        (z0, z1), (x0, x1) = ROWS[i : i + 2], COLS[j : j + 2]
        client.put_tensor(
            f"pmeta{3 * i + j}_{step}",
            np.asfortranarray(theta[step, z0:z1, x0:x1].T),
            dims=("x", "z"),
            attrs=truth.theta.attrs,
            coords={"time": 60.0 * step, "x": x[x0:x1]},
            block={"shape": (NX, NZ), "start": (x0, z0)},
        )


def test_a_decomposed_field_described_in_c_opens_with_names_units_and_time(native_c, store_client, c_store):
    run_program([native_c.c_tests, "described"], native_env(c_store.address))
    truth = expected()
    assert store_client.tensor_info("fmeta2_1").order == "F" and store_client.tensor_info("cmeta2_1").order == "C"
    from_c = simdask.open_dataset("cmeta{rank:d}_{step:d}", store_client, name="theta")
    assert from_c.theta.data.chunks == (
        (2,),
        (2, 3),
        (4, 1, 3),
    )  # steps grouped (chunks="auto"), a chunk per block in space
    xr.testing.assert_identical(from_c.compute(), truth)
    as_fortran = simdask.open_dataset("fmeta{rank:d}_{step:d}", store_client, name="theta")
    xr.testing.assert_identical(as_fortran.compute(), truth)
    put_from_python_as_fortran(store_client, truth)
    from_python = simdask.open_dataset("pmeta{rank:d}_{step:d}", store_client, name="theta")
    xr.testing.assert_identical(from_python.compute(), from_c.compute())


def test_numbers_from_c_read_back_exactly_and_text_is_escaped(native_c, store_client, c_store):
    run_program([native_c.c_tests, "described"], native_env(c_store.address))
    info = store_client.tensor_info("cmeta_numbers")
    attrs = dict(info.attrs)
    assert math.isnan(attrs.pop("nan"))
    assert attrs == {
        "third": 1.0 / 3.0,
        "tiny": 5e-324,
        "huge": 1.7976931348623157e308,
        "negative_zero": -0.0,
        "one": 1.0,
        "minus_inf": -math.inf,
        "big": 2**62,
        "negative": -7,
        "text": 'replaced: "caf\u00e9"\\',
    }
    assert math.copysign(1.0, attrs["negative_zero"]) == -1.0
    assert isinstance(attrs["one"], float) and isinstance(attrs["big"], int)
    assert info.coords == {"member": "ctl", "time": 0.1}
    none = store_client.tensor_info("cmeta_none")
    assert (none.dims, none.attrs, none.coords, none.block) == (None, {}, {}, None)


def test_descriptions_that_do_not_fit_are_refused_in_c(native_c, store_client, c_store):
    run_program([native_c.c_tests, "described_errors"], native_env(c_store.address))
    assert not store_client.tensor_exists("bad_meta")
