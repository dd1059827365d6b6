"""The Fortran client (client_fortran/, module simdask) against a real store and the Python client."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import threading
import time
import zipfile

import numpy as np
import pytest
from simdask_tests_native import (
    Interactive,
    Responder,
    assert_timed_out,
    lines_while_frozen,
    native_env,
    run_program,
)

from simdask import Dataset


def run_case(native, address, case, *args, **env):
    return run_program([native.f_tests, case, *map(str, args)], native_env(address, **env))


def reference(kind: str, shape: tuple[int, ...]) -> np.ndarray:
    """What f_roundtrip.inc writes: element i (1-based, F order) = f(3 i - 7); rank 0 takes i = 5."""
    i = np.arange(1, int(np.prod(shape)) + 1) if shape else np.array([5])
    v = i * 3 - 7
    values = {
        "r32": v.astype(np.float32) * np.float32(0.5),
        "r64": v * 0.25,
        "i8": v.astype(np.int8),
        "i16": (v * 100).astype(np.int16),
        "i32": (v * 1000).astype(np.int32),
        "i64": v.astype(np.int64) * 10**10,
        "c32": (v * 0.5 - 1j * v).astype(np.complex64),
        "c64": (v * 0.25 + 0.5j * v).astype(np.complex128),
        "l": i % 3 == 0,
        "lc": i % 2 == 0,
    }[kind]
    return values.reshape(shape, order="F")


def test_install_layout(native_fortran):
    prefix = native_fortran.prefix
    for path in (
        "include/simdask.mod",
        "lib/libsimdask_fortran.so",
        "lib/libsimdask_fortran.a",
        "lib/pkgconfig/simdask-fortran.pc",
        "lib/cmake/simdask_fortran/simdask_fortranConfig.cmake",
    ):
        assert (prefix / path).exists(), path
    libs = subprocess.run(
        ["pkg-config", "--libs", "simdask-fortran"], env=native_fortran.env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "-lsimdask_fortran" in libs and "-lsimdask" in libs


def test_fortran_array_read_in_python_with_same_shape_and_index(native_fortran, store_client, c_store):
    """real(real64) a(5, 3, 2), a(i, j, k) = 100 i + 10 j + k: Python sees shape (5, 3, 2) and a[i-1, j-1, k-1]."""
    run_case(native_fortran, c_store.address, "put_532")
    a = store_client.get_tensor("f_a532")
    assert a.shape == (5, 3, 2) and a.dtype == np.float64
    assert a.flags.f_contiguous  # stored in F order, viewed without a copy
    for i in range(1, 6):
        for j in range(1, 4):
            for k in range(1, 3):
                assert a[i - 1, j - 1, k - 1] == 100 * i + 10 * j + k
    out = np.empty((5, 3, 2))  # unpacking into a C-order array transposes
    store_client.unpack_tensor("f_a532", out)
    np.testing.assert_array_equal(out, a)


def test_every_type_and_rank_round_trips_and_reads_in_python(native_fortran, store_client, c_store):
    """real32/64, int8/16/32/64, complex(real32|real64) as complex64/128, logical (default and c_bool) as bool."""
    run_case(native_fortran, c_store.address, "roundtrip")
    shapes = {0: (), 1: (7,), 2: (3, 4), 3: (5, 3, 2), 4: (2, 3, 2, 2)}
    dtypes = {
        "r32": np.float32,
        "r64": np.float64,
        "i8": np.int8,
        "i16": np.int16,
        "i32": np.int32,
        "i64": np.int64,
        "c32": np.complex64,
        "c64": np.complex128,
        "l": np.bool_,
        "lc": np.bool_,
    }
    for kind, dtype in dtypes.items():
        for rank, shape in shapes.items():
            got = store_client.get_tensor(f"ft_{kind}_{rank}")
            assert got.dtype == dtype and got.shape == shape, (kind, rank, got.dtype, got.shape)
            np.testing.assert_array_equal(got, reference(kind, shape), err_msg=f"{kind} rank {rank}")


def test_python_arrays_unpacked_in_fortran(native_fortran, store_client, c_store):
    store_client.put_tensor("py_c", np.arange(24.0).reshape(4, 3, 2))
    store_client.put_tensor("py_i4", np.arange(15, dtype=np.int32).reshape(3, 5))
    store_client.put_tensor("py_big", np.arange(1024 * 2560, dtype=np.float64).reshape(1024, 2560))  # chunked
    store_client.put_tensor("py_bool", np.arange(12).reshape(3, 4) % 3 == 0)
    store_client.put_tensor("py_int8", np.array([[-128, 1, 0], [5, 6, 127]], dtype=np.int8))
    store_client.put_tensor("py_int16", np.array([-32768, -1, 0, 32767], dtype=np.int16))
    store_client.put_tensor("py_c64", np.array([1 - 1j, 2 - 2j, 3 - 3j], dtype=np.complex64))
    store_client.put_tensor("py_c128", np.array([[0, 0.5 + 2j], [1j, 0]], dtype=np.complex128))
    run_case(native_fortran, c_store.address, "unpack_python")


def test_sections_scalars_exists_poll_delete(native_fortran, store_client, c_store):
    def later():
        time.sleep(0.3)
        store_client.put_tensor("f_later", np.zeros(2))

    writer = threading.Thread(target=later)
    writer.start()
    try:
        run_case(native_fortran, c_store.address, "misc")
    finally:
        writer.join()
    m = np.add.outer(np.arange(1, 11), 100 * np.arange(1, 7)).astype(np.float64)
    np.testing.assert_array_equal(store_client.get_tensor("f_section"), m[0:10:2, :])
    assert store_client.get_tensor("f_empty").shape == (0,)
    empty = store_client.get_tensor("f_empty_bool")
    assert empty.shape == (0,) and empty.dtype == np.bool_


def test_copy_and_rename_keep_data_and_description(native_fortran, store_client, c_store):
    store_client.put_tensor("py_described", np.eye(2, 3), dims=["y", "x"], attrs={"units": "K"})
    run_case(native_fortran, c_store.address, "keys")
    info = store_client.tensor_info("f_described")
    assert info.dims == ("y", "x") and info.attrs == {"units": "K"}
    np.testing.assert_array_equal(store_client.get_tensor("f_described"), np.eye(2, 3))
    np.testing.assert_array_equal(store_client.get_tensor("f_moved"), [1, 2, 3, 4])
    assert not store_client.tensor_exists("f_copy") and not store_client.tensor_exists("f_never")


def test_datasets_and_lists_written_in_fortran_read_in_python(native_fortran, store_client, c_store):
    run_case(native_fortran, c_store.address, "datasets_write")
    ds = store_client.get_dataset("f_ds")
    assert ds.get_tensor_names() == ["u", "mask", "ids", "z"]
    np.testing.assert_array_equal(ds.get_tensor("u"), np.add.outer(10 * np.arange(1, 5), np.arange(1, 4)))
    mask = ds.get_tensor("mask")
    assert mask.dtype == np.bool_ and mask.tolist() == [True, False, True, True, False]
    ids = ds.get_tensor("ids")
    assert ids.dtype == np.int16 and ids.tolist() == [7, -8, 9]
    z = ds.get_tensor("z")
    assert z.dtype == np.complex128 and z.tolist() == [1.5 - 2j, 1j]
    times = ds.get_meta_scalars("time")
    assert times.dtype == np.float64 and times.tolist() == [1.5, 2.5]
    steps = ds.get_meta_scalars("step")
    assert steps.dtype == np.int64 and steps.tolist() == [7]
    assert ds.get_meta_strings("source") == ["fortran", "f_tests"]
    listed = store_client.get_datasets_from_list("f_list")
    assert [d.name for d in listed] == ["f_ds", "f_ds2"]
    np.testing.assert_array_equal(listed[1].get_tensor("u"), 2 * ds.get_tensor("u"))


def test_datasets_and_lists_written_in_python_read_in_fortran(native_fortran, store_client, c_store):
    ds = Dataset("py_ds")
    ds.add_tensor("temp", np.arange(12.0).reshape(3, 4))
    ds.add_tensor("flags", np.array([True, False, False, True, False]))
    ds.add_meta_scalar("dt", np.float32(0.5))
    ds.add_meta_scalar("steps", np.int64(10))
    ds.add_meta_scalar("steps", np.int64(20))
    ds.add_meta_string("labels", "alpha")
    ds.add_meta_string("labels", "be")
    store_client.put_dataset(ds)
    for i in range(1, 4):
        entry = Dataset(f"py_entry{i}")
        entry.add_tensor("v", np.array([i, -i], dtype=np.float64))
        store_client.put_dataset(entry)
        store_client.append_to_list("py_list", entry)
    run_case(native_fortran, c_store.address, "datasets_read")


def zip_of(*names: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(name, b"x")
    return out.getvalue()


def test_models_and_scripts_stored_from_fortran_read_in_python(native_fortran, store_client, c_store, tmp_path):
    """A file with a TorchScript archive's layout (torch is not needed to store one; test_fortran_inference.py
    runs a real model), stored by set_model_from_file and by set_model from the bytes Fortran read."""
    model = tmp_path / "model.pt"
    model.write_bytes(zip_of("m/code/__torch__.py", "m/constants.pkl", "m/data.pkl"))
    script = tmp_path / "ops.py"
    script.write_text("def twice(x):\n    return 2 * x\n")
    run_case(native_fortran, c_store.address, "models_store", model, script)
    assert store_client.get_model("f_model") == model.read_bytes()
    spec = store_client.get_model_spec("f_model")
    assert (spec.backend, spec.format, spec.device, spec.version) == ("TORCH", "torchscript", "GPU:1", 1)
    assert (spec.batch_size, spec.min_batch_size, spec.min_batch_timeout, spec.tag) == (4, 2, 30, "from fortran")
    assert (spec.inputs, spec.outputs) == (("a", "b"), ("c",))
    assert store_client.get_model("f_model_bytes") == model.read_bytes()
    assert store_client.get_model_spec("f_model_bytes").version == 2
    assert store_client.get_script("f_script") == script.read_text()
    assert not store_client.model_exists("f_inline") and not store_client.model_exists("f_bad")


def test_misuse_says_so_and_copies_free_once(native_fortran, store_client, c_store):
    """Clients and datasets before initialize, after destroy (through a copy), copies in arrays and in other
    types going out of scope: SD_ERR_ARG with a message saying which; under valgrind, when installed, no invalid
    access and no double free."""
    cmd = [native_fortran.f_tests, "misuse"]
    if shutil.which("valgrind"):
        cmd = ["valgrind", "--quiet", "--error-exitcode=97", "--leak-check=full", "--errors-for-leak-kinds=definite"]
        cmd += ["--show-leak-kinds=definite", native_fortran.f_tests, "misuse"]
    proc = subprocess.run(cmd, env=native_env(c_store.address), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    np.testing.assert_array_equal(store_client.get_tensor("f_scoped"), [3, 4])


def test_clients_and_datasets_out_of_scope_are_freed(native_fortran, store_client, c_store):
    """20 clients (each copied) made and dropped in a subroutine: their connections are closed (finalisers)."""
    redis = store_client.redis()
    prog = Interactive([native_fortran.f_tests, "leaks"], native_env(c_store.address))
    prog.expect("BEFORE")
    before = redis.info("clients")["connected_clients"]
    prog.go()
    prog.expect("AFTER")
    after = redis.info("clients")["connected_clients"]
    prog.go()
    prog.finish()
    assert after <= before, (before, after)
    assert store_client.get_tensor("f_leak").tolist() == [20.0]


@pytest.mark.parametrize(
    ("case", "status", "says"),
    [
        ("fail_missing", 3, ["unpack_tensor failed (SD_ERR_NOT_FOUND)", "f_missing_nostatus"]),
        ("fail_uninitialized", 1, ["put_tensor failed (SD_ERR_ARG)", "not initialized"]),
        ("fail_connect", 2, ["initialize failed (SD_ERR_CONNECTION)", "127.0.0.1:1"]),
    ],
)
def test_a_failure_without_status_ends_the_program(native_fortran, c_store, case, status, says):
    """No status argument: the message on stderr and `error stop <status>`, so the exit status is non-zero."""
    proc = run_program([native_fortran.f_tests, case], native_env(c_store.address), expect_ok=False)
    assert proc.returncode == status, proc.stdout + proc.stderr
    line = next(line for line in proc.stderr.splitlines() if line.startswith("simdask: "))
    assert all(text in line for text in says), line
    assert "still running" not in proc.stdout


def test_error_statuses(native_fortran, store_client, c_store):
    run_case(native_fortran, c_store.address, "errors")


def test_password_refused(native_fortran, tmp_path):
    """A protected store and no password (no credentials file: as another account), or a wrong one: SD_ERR_AUTH,
    the message naming the address."""
    from simdask import Store

    with Store(password="s3cret") as store:
        for env in ({"SIMDASK_CREDENTIALS_DIR": str(tmp_path)}, {"SIMDASK_PASSWORD": "wrong"}):
            proc = run_case(native_fortran, store.address, "auth", **env)
            assert store.address in proc.stdout


def test_run_model_and_script(native_fortran, store_client, c_store):
    """run_model/run_script against a stand-in responder that records the raw requests (the wire check;
    test_fortran_inference.py runs the same program against the real service)."""
    with Responder(c_store.address) as responder:
        run_case(native_fortran, c_store.address, "requests")
    assert [q.get("model") or q.get("script") for q in responder.requests] == ["copy", "fail", "slow", "double"]
    assert responder.requests[0]["inputs"] == '["f_in"]'


def test_calls_return_by_their_deadlines_when_the_store_stops_answering(native_fortran):
    """SIGSTOP: put_tensor (1 s of I/O) and a new client's initialize (1 s to connect, 1 s for a reply) return
    SD_ERR_TIMEOUT in time; after SIGCONT the client works again."""
    from simdask import Store

    deadlines = {"put_tensor": 1000, "initialize": 2000}
    with Store() as store:
        lines = lines_while_frozen([native_fortran.f_tests, "frozen"], native_env(store.address), store)
    assert_timed_out(lines, deadlines, "7", 1500)  # 7: SD_ERR_TIMEOUT


def test_runs_begun_and_ended_in_fortran_are_listed_by_python(native_fortran, store_client, c_store):
    """begin_run/end_run/run_number (docs/protocol.md, "Runs"): keys under ``frun@1`` and ``frun@2``, a heartbeat
    that lasts initialize's run_lease_ms, both runs listed as ended by ``Client.runs``, a plain key read through
    the fallback, misuse refused with SD_ERR_ARG (the Fortran side checks the messages)."""
    r = store_client.redis()
    store_client.put_tensor("frun.steer", np.array([2.5]))  # written outside any run
    prog = Interactive([native_fortran.f_tests, "runs_begin"], native_env(c_store.address, SIMDASK_KEY_PREFIX="frun"))
    prog.expect("BEGUN")
    assert 0 < r.pttl("simdask:{runs:frun}:1:alive:0") <= 4000
    assert [run.state for run in store_client.runs("frun")] == ["running"]
    prog.go()
    prog.finish()
    listed = store_client.runs("frun")
    assert [(run.number, run.writers, run.state) for run in listed] == [(1, 1, "ended"), (2, 1, "ended")]
    assert re.fullmatch(r"run-[0-9a-f]{16}", listed[0].run_id) and listed[1].run_id == "fid"
    assert r.exists("frun@1.u") and r.exists("frun@2.v") and not r.exists("frun.u", "frun.v", "frun@2.u")


def test_two_fortran_writers_with_a_run_id_form_one_run(native_fortran, store_client, c_store):
    """SIMDASK_RUN_ID with SIMDASK_RUN_WRITERS=2: two processes at once, one run that ends when both have."""
    env = {"SIMDASK_KEY_PREFIX": "fens", "SIMDASK_RUN_ID": "fjob", "SIMDASK_RUN_WRITERS": "2"}
    procs = [
        subprocess.Popen(
            [native_fortran.f_tests, "runs_env", f"part{i}", str(10 + i)],
            env=native_env(c_store.address, SIMDASK_RUN_WRITER=str(i), **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (0, 1)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, out + err
        assert "RUN 1" in out.splitlines()
    [run] = store_client.runs("fens")
    assert (run.number, run.run_id, run.writers, run.state, run.ended) == (1, "fjob", 2, "ended", 2)
    r = store_client.redis()
    assert r.exists("fens@1.part0") and r.exists("fens@1.part1")


def test_fortran_status_codes_are_the_c_clients(native_fortran):
    header = (native_fortran.prefix / "include" / "simdask.h").read_text()
    names = [
        "SD_OK",
        "SD_ERR_ARG",
        "SD_ERR_CONNECTION",
        "SD_ERR_NOT_FOUND",
        "SD_ERR_FORMAT",
        "SD_ERR_TYPE",
        "SD_ERR_SHAPE",
        "SD_ERR_TIMEOUT",
        "SD_ERR_MODEL",
        "SD_ERR_NOMEM",
        "SD_ERR_STORE",
        "SD_ERR_AUTH",
        "SD_ERR_CONCURRENT",
    ]
    enum = header.split("enum sd_status {")[1].split("};")[0]
    assert re.findall(r"^\s*(SD_\w+)", enum, flags=re.M) == names
    from simdask_tests_native import ROOT

    module = (ROOT / "client_fortran" / "src" / "simdask.f90").read_text()
    for value, name in enumerate(names):
        assert f"{name} = {value}" in module, name


def test_deletes_use_the_write_prefix(native_fortran, store_client, c_store):
    """The issue's case: a Fortran writer deleting its own end marker never deletes another group's."""
    store_client.put_tensor("other.simdask:end", np.array(1))  # raw key of group "other"
    env = native_env(c_store.address, SIMDASK_KEY_PREFIX="runC", SIMDASK_KEY_PREFIXES_IN="other")
    done = subprocess.run([native_fortran.f_tests, "delete_own"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(store_client.keys("*simdask:end")) == {"other.simdask:end"}
