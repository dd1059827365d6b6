"""The C client (client_c/) against real stores, and against the Python client.

The C side of each test is a case of ``c_tests.c`` (built once per session
against the *installed* library, see ``sdnative.py``); the Python side
writes what C must read and checks what C wrote.
"""

from __future__ import annotations

import ast
import hashlib
import re
import struct
import subprocess
import threading
import time

import numpy as np
import pytest
from simdask_tests_native import (
    ROOT,
    Interactive,
    Responder,
    native_env,
    run_program,
    store_keys,
)

from simdask import Client, Dataset, Store, wire
from simdask.protocol import scripts
from simdask.protocol.scripts import CLEANUP_CHUNKS

DTYPES = [str(dtype) for dtype in wire.DTYPES.values()]  # the wire format's dtype table, in code order


def run_case(native, address, case, *args, **env):
    return run_program([native.c_tests, case, *args], native_env(address, **env))


def reference(dtype: str, n: int = 24) -> np.ndarray:
    """What c_tests.c's reference_fill writes, shape (2, 3, 4)."""
    i = np.arange(n)
    v = i * 3 - 20
    values = {
        "int8": v.astype(np.int8),
        "int16": (v * 1000).astype(np.int16),
        "int32": (v * 100000).astype(np.int32),
        "int64": v.astype(np.int64) * 10**10,
        "uint8": (i * 3).astype(np.uint8),
        "uint16": (i * 3000).astype(np.uint16),
        "uint32": (i * 300000).astype(np.uint32),
        "uint64": i.astype(np.uint64) * 30000000000,
        "float16": v.astype(np.float16),
        "float32": (v * 0.5).astype(np.float32),
        "float64": v * 0.25,
        "complex64": (v - 1j * v).astype(np.complex64),
        "complex128": (v - 1j * v).astype(np.complex128),
        "bool": i % 2 == 1,
    }[dtype]
    return values.reshape(2, 3, 4)


# -- build and install ---------------------------------------------------------------


def test_install_layout(native_c):
    prefix = native_c.prefix
    for path in (
        "include/simdask.h",
        "lib/libsimdask.so",
        "lib/libsimdask.a",
        "lib/pkgconfig/simdask.pc",
        "lib/cmake/simdask/simdaskConfig.cmake",
        "lib/cmake/simdask/simdaskConfigVersion.cmake",
    ):
        assert (prefix / path).exists(), path
    header = (prefix / "include" / "simdask.h").read_text()
    version = ".".join(
        re.search(rf"#define SIMDASK_VERSION_{p} (\d+)", header).group(1) for p in ("MAJOR", "MINOR", "PATCH")
    )
    pc = subprocess.run(["pkg-config", "--modversion", "simdask"], env=native_c.env, capture_output=True, text=True)
    assert pc.stdout.strip() == version
    # only the public API is exported from the shared library
    nm = subprocess.run(
        ["nm", "-D", "--defined-only", prefix / "lib" / "libsimdask.so"], capture_output=True, text=True, check=True
    )
    exported = [line.split()[-1] for line in nm.stdout.splitlines() if line.split()[1:2] == ["T"]]
    assert exported and all(name.startswith("sd_") and not name.startswith("sd__") for name in exported), exported
    declared = set(re.findall(r"SD_API [^;]*?\b(sd_\w+)\(", header))
    assert set(exported) == declared


def test_builds_without_warnings(native_c):
    assert "warning" not in "".join(native_c.build_log).lower()


@pytest.mark.parametrize("name", ["CLEANUP_CHUNKS", "BEGIN_RUN", "END_RUN", "SUBMIT"])
def test_scripts_are_byte_identical_in_the_source(name):
    """client_c/src/scripts.c embeds each script of simdask/protocol/scripts.py as a C string: same bytes."""
    source = (ROOT / "client_c" / "src" / "scripts.c").read_text()
    block = source.split(f"/* BEGIN {name} */")[1].split(f"/* END {name} */")[0]
    pieces = re.findall(r'"((?:[^"\\]|\\.)*)"', block)
    text = "".join(ast.literal_eval(f'"{p}"') for p in pieces)
    assert text == getattr(scripts, name)


def test_cleanup_script_is_byte_identical_on_the_wire(native_c, store_client, c_store):
    """After a C write, the store's script cache holds exactly the Python text's SHA1."""
    r = store_client.redis()
    r.script_flush()
    run_case(native_c, c_store.address, "smoke")
    sha = hashlib.sha1(CLEANUP_CHUNKS.encode()).hexdigest()
    assert r.script_exists(sha) == [True]
    assert r.info("memory")["number_of_cached_scripts"] == 1


# -- tensors ---------------------------------------------------------------------------


def test_roundtrip_in_c(native_c, store_client, c_store):
    """Every dtype and order, 0-d to 32-d, empty, chunked, transposed; overwrite and delete drop chunks."""
    run_case(native_c, c_store.address, "roundtrip")
    chunks = store_keys(c_store.address, "simdask:chunk:*")
    tags = sorted({re.match(r"simdask:chunk:\{(.*)\}:[0-9a-f]{32}:\d+$", k).group(1) for k in chunks})
    assert tags == ["rt_above_threshold", "rt_chunked", "tag", "tr_chunked"]  # not ow, del, rt_x}y
    counts = {t: sum(k.startswith(f"simdask:chunk:{{{t}}}:") for k in chunks) for t in tags}
    assert counts == {"rt_above_threshold": 3, "rt_chunked": 6, "tag": 3, "tr_chunked": 7}
    r = store_client.redis()
    assert r.strlen("rt_x}y") == 64 + (9 << 20)  # braces without a tag: plain form
    assert r.strlen("rt_at_threshold") == 64 + (8 << 20)  # exactly 8 MiB: plain form
    # Python reads what C wrote, chunked or not
    assert store_client.get_tensor("ow").shape == (2, 3, 4)
    big = store_client.get_tensor("tr_chunked")
    assert big.shape == (9, 512, 3, 256) and big.flags.f_contiguous
    assert big[1, 2, 1, 3] == 1 + 9 * (2 + 512 * (1 + 3 * 3))
    assert store_client.get_tensor("rt_scalar").shape == ()
    assert store_client.get_tensor("rt_empty").shape == (0, 5)
    assert store_client.get_tensor("rt_32d").ndim == 32


def test_c_put_of_every_dtype_read_in_python(native_c, store_client, c_store):
    run_case(native_c, c_store.address, "put_dtypes")
    for dtype in DTYPES:
        got = store_client.get_tensor(f"dt_{dtype}")
        expected = reference(dtype)
        assert got.dtype == expected.dtype, dtype
        assert got.shape == (2, 3, 4) and got.flags.c_contiguous, dtype
        np.testing.assert_array_equal(got, expected, err_msg=dtype)
    f = store_client.get_tensor("dt_float64_F")
    assert f.shape == (2, 3, 4) and f.flags.f_contiguous
    i, j, k = np.indices((2, 3, 4))
    np.testing.assert_array_equal(f, i * 100 + j * 10 + k)
    big = store_client.get_tensor("dt_big")
    assert big.shape == ((20 << 20) // 4 // 1024, 1024)
    np.testing.assert_array_equal(big.ravel(), (np.arange(big.size) % 1000).astype(np.float32))
    assert store_client.get_tensor("dt_scalar") == 2.5
    out = np.empty((2, 3, 4), dtype=np.int32, order="F")
    store_client.unpack_tensor("dt_int32", out)
    np.testing.assert_array_equal(out, reference("int32"))


def test_python_arrays_unpacked_in_c(native_c, store_client, c_store):
    a = np.arange(24.0).reshape(2, 3, 4)
    store_client.put_tensor("py_c", a)
    store_client.put_tensor("py_f", np.asfortranarray(a.astype(np.float32)))
    store_client.put_tensor("py_big", np.arange(2621440, dtype=np.int64))  # 20 MiB: chunked by Python
    store_client.put_tensor("py_attrs", a, dims=("x", "y", "z"), attrs={"units": "K", "note": "é"})
    store_client.put_tensor("py_bool", np.arange(6) % 3 == 0)
    store_client.put_tensor("py_c64", (np.arange(6) - 2j * np.arange(6)).astype(np.complex64))
    assert store_keys(c_store.address, "simdask:chunk:{py_big}:*")  # really chunked
    with Client(c_store.address, chunk_threshold=64 << 20) as plain:
        plain.put_tensor("py_plain_big", np.arange(2621440, dtype=np.float64))
    assert store_client.redis().strlen("py_plain_big") == 64 + (20 << 20)
    run_case(native_c, c_store.address, "unpack_python")


def test_unix_socket(native_c, c_unix_store):
    assert c_unix_store.address.startswith("unix:///")
    run_case(native_c, c_unix_store.address, "smoke")
    run_case(native_c, c_unix_store.address, "put_dtypes")
    with Client(c_unix_store.address) as client:
        np.testing.assert_array_equal(client.get_tensor("dt_uint16"), reference("uint16"))
        assert client.get_tensor("smoke_big").shape == ((9 << 20) // 8 + 3,)


def test_ipv6_loopback(native_c):
    try:
        store = Store(host="::1").start()
    except Exception as exc:  # no IPv6 on this machine
        pytest.skip(f"no IPv6 loopback store: {exc}")
    with store:
        assert store.address.startswith("[::1]:")
        run_case(native_c, store.address, "smoke")


def test_static_library(native_c, store_client, c_store):
    """The same test program linked against libsimdask.a through pkg-config --static."""
    assert (
        "libsimdask.so" not in subprocess.run(["ldd", native_c.c_tests_static], capture_output=True, text=True).stdout
    )
    run_program([native_c.c_tests_static, "smoke"], native_env(c_store.address))


def test_fork_reconnects(native_c, store_client, c_store):
    run_case(native_c, c_store.address, "fork")


def test_poll_while_python_writes(native_c, store_client, c_store):
    prog = Interactive([native_c.c_tests, "poll"], native_env(c_store.address))
    prog.expect("POLLING")
    prog.go()
    time.sleep(0.3)
    store_client.put_tensor("later", np.ones(3))
    ds = Dataset("later_ds")
    ds.add_tensor("t", np.ones(2))
    store_client.put_dataset(ds)
    for _ in range(3):
        store_client.append_to_list("later_list", ds)
    prog.finish()


def test_reads_while_python_overwrites(native_c, store_client, c_store):
    """Every C read of a chunked tensor under constant overwrite is one whole generation."""
    n = (12 << 20) // 8
    store_client.put_tensor("flip", np.zeros(n))
    stop = threading.Event()
    written = [0]

    def overwrite():
        with Client(c_store.address) as writer:
            while not stop.is_set():
                written[0] += 1
                writer.put_tensor("flip", np.full(n, float(written[0])))

    prog = Interactive([native_c.c_tests, "concurrent_reads"], native_env(c_store.address))
    prog.expect("READING")
    thread = threading.Thread(target=overwrite)
    thread.start()
    try:
        prog.go()
        out, _ = prog.finish()
    finally:
        stop.set()
        thread.join()
    assert written[0] > 10, out
    # only the last generation's chunks are left
    assert len(store_keys(c_store.address, "simdask:chunk:{flip}:*")) == 3


# -- errors ----------------------------------------------------------------------------


def test_error_paths(native_c, store_client, c_store):
    """NULL pointers, bad names, ndim > 32, overflowing shapes, missing keys, mismatched unpacks."""
    with Store() as down:
        dead = down.address
    run_case(native_c, c_store.address, "errors", dead)


def _header(dtype=11, order=b"C", shape=(4,), flags=0, attrs=b"", data_offset=None, magic=b"SDT\x01"):
    used = 16 + 8 * len(shape) + len(attrs)
    offset = -(-used // 64) * 64 if data_offset is None else data_offset
    fixed = magic + struct.pack("<BcBBII", dtype, order, len(shape), flags, len(attrs), offset)
    body = fixed + struct.pack(f"<{len(shape)}Q", *shape) + attrs
    return body + bytes(max(0, offset - len(body)))


def _chunked(n_chunks, chunk_bytes, nbytes, reserved=0, generation=b"\x11" * 16):
    head = _header(shape=(nbytes // 8,), flags=1)
    return head + struct.pack("<IIQ16s", n_chunks, reserved, chunk_bytes, generation)


DATA = np.arange(4.0).tobytes()
CORRUPT = {
    "bad_magic": _header(magic=b"XDT\x01") + DATA,
    "bad_version": _header(magic=b"SDT\x02") + DATA,
    "bad_dtype": _header(dtype=99) + DATA,
    "bad_order": _header(order=b"X") + DATA,
    "too_many_dims": b"SDT\x01" + struct.pack("<BcBBII", 11, b"C", 40, 0, 0, 384) + bytes(368) + DATA,
    "bad_flags": _header(flags=2) + DATA,
    "misaligned_offset": _header(data_offset=40)[:40] + DATA,
    "offset_inside_shape": _header(data_offset=0)[:24] + DATA,
    "truncated": _header() + DATA[:-8],
    "too_long": _header() + DATA + b"\0" * 8,
    "header_cut": _header(shape=(2, 2, 2))[:30],
    "three_bytes": b"SDT",
    "empty_value": b"",
    "random_bytes": bytes(range(256)) * 4,
    "big_foreign": bytes(20 << 20),  # refused after 16 bytes; the client reconnects rather than drain it
    "shape_overflow": _header(shape=(2**62, 2**62)) + DATA,
    "huge_claim": _header(shape=(2**40,)) + DATA,
    "chunk_ref_inconsistent": _chunked(n_chunks=2, chunk_bytes=4 << 20, nbytes=9 << 20),
    "chunk_ref_reserved": _chunked(n_chunks=3, chunk_bytes=4 << 20, nbytes=9 << 20, reserved=7),
    "chunk_ref_zero_size": _chunked(n_chunks=3, chunk_bytes=0, nbytes=9 << 20),
    "chunks_missing": _chunked(n_chunks=3, chunk_bytes=4 << 20, nbytes=9 << 20),
    "chunk_short": _chunked(n_chunks=3, chunk_bytes=4 << 20, nbytes=9 << 20, generation=b"\x22" * 16),
    "chunked_cut": _chunked(n_chunks=3, chunk_bytes=4 << 20, nbytes=9 << 20)[:-5],
}


@pytest.mark.parametrize("key", [*CORRUPT, "a_hash", "a_list", "never_written"])
def test_corrupt_and_foreign_values(native_c, store_client, c_store, key):
    """Every malformed value is refused with a message naming the key; the client stays usable.

    A key of another type (hash, list) is SD_ERR_TYPE, as WRONGTYPE is everywhere (error.c's table)."""
    r = store_client.redis()
    if key == "a_hash":
        r.hset(key, "f", "v")
    elif key == "a_list":
        r.rpush(key, "x")
    elif key != "never_written":
        r.set(key, CORRUPT[key])
    if key == "chunk_short":  # chunks 0 and 2 fine, chunk 1 one byte short
        gen = "22" * 16
        r.set(f"simdask:chunk:{{{key}}}:{gen}:0", bytes(4 << 20))
        r.set(f"simdask:chunk:{{{key}}}:{gen}:1", bytes((4 << 20) - 1))
        r.set(f"simdask:chunk:{{{key}}}:{gen}:2", bytes(1 << 20))
    foreign = {"never_written": "SD_ERR_NOT_FOUND", "a_hash": "SD_ERR_TYPE", "a_list": "SD_ERR_TYPE"}
    code = foreign.get(key, "SD_ERR_FORMAT")
    n = (9 << 20) // 8 if key.startswith("chunk") else 4  # the shape the header claims, where readable
    proc = run_case(native_c, c_store.address, "corrupt", key, code, str(n))
    assert key in proc.stdout


def test_store_down_midway(native_c):
    """The store dies under a connected client: SD_ERR_CONNECTION, no crash (no SIGPIPE)."""
    store = Store().start()
    try:
        prog = Interactive([native_c.c_tests, "down_midway"], native_env(store.address))
        prog.expect("READY")
    finally:
        store.stop()
    prog.go()
    out, _ = prog.finish()
    assert "put: " in out and store.address in out


def test_store_full(native_c):
    """A refused chunk (maxmemory): SD_ERR_STORE, and the chunks already written are removed."""
    with Store(maxmemory="16mb") as store:
        proc = run_program([native_c.c_tests, "store_full"], native_env(store.address))
        assert "OOM" in proc.stdout
        assert store_keys(store.address, "simdask:chunk:*") == []
        assert store_keys(store.address, "*") == ["small"]


def test_password(native_c, tmp_path):
    """No password or a wrong one for a protected store: SD_ERR_AUTH naming the address (AuthenticationError)."""
    with Store(password="s3cret") as store:
        run_program([native_c.c_tests, "smoke"], native_env(store.address, SIMDASK_PASSWORD="s3cret"))
        no_credentials = native_env(store.address, SIMDASK_CREDENTIALS_DIR=str(tmp_path))  # as another account
        proc = run_program([native_c.c_tests, "connect_fails", "SD_ERR_AUTH"], no_credentials)
        assert "password" in proc.stdout and store.address in proc.stdout
        proc = run_program(
            [native_c.c_tests, "connect_fails", "SD_ERR_AUTH"], native_env(store.address, SIMDASK_PASSWORD="wrong")
        )
        assert "authentication failed" in proc.stdout and store.address in proc.stdout


def test_password_given_to_a_store_without_one(native_c):
    """AUTH to a store that has no password is refused too ("ERR AUTH ... without any password configured")."""
    with Store(password="") as store:
        proc = run_program(
            [native_c.c_tests, "connect_fails", "SD_ERR_AUTH"], native_env(store.address, SIMDASK_PASSWORD="unneeded")
        )
        assert store.address in proc.stdout


def test_wrong_type(native_c, store_client, c_store):
    """A key holding a list read as a tensor, a tensor's key used as a list: SD_ERR_TYPE naming the key."""
    run_case(native_c, c_store.address, "wrong_type")


_DEFAULT = re.compile(r"int (\w+);[^;]*?default (\d+) \(simdask\.yaml ([\w.-]+), seconds\)")


def test_defaults_are_the_documented_ones(native_c):
    """sd_options_init gives what simdask.h documents beside each field, which is simdask.yaml's default."""
    from simdask import config

    proc = run_program([native_c.c_tests, "defaults"], native_env())
    given = {field: int(ms) for field, ms in (line.split() for line in proc.stdout.splitlines()[:3])}
    header = (ROOT / "client_c" / "include" / "simdask.h").read_text()
    documented = _DEFAULT.findall(header[header.index("typedef struct sd_options") : header.index("} sd_options;")])
    assert {field: int(ms) for field, ms, _ in documented} == given
    assert set(given) == {"connect_timeout_ms", "io_timeout_ms", "run_timeout_ms"}
    for field, ms, name in documented:
        assert int(ms) == round(float(config.get(name)) * 1000), (field, name)


# -- datasets and lists ----------------------------------------------------------------


def test_datasets_written_in_c_read_in_python(native_c, store_client, c_store):
    run_case(native_c, c_store.address, "datasets_write")
    ds = store_client.get_dataset("cds")
    assert ds.get_tensor_names() == ["u", "v", "f", "big"]
    np.testing.assert_array_equal(ds.get_tensor("u"), np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(ds.get_tensor("v"), np.array([-2, -1, 0, 1, 2], dtype=np.int32))
    f = ds.get_tensor("f")
    assert f.flags.f_contiguous
    np.testing.assert_array_equal(f, [[0, 1, 2], [10, 11, 12]])
    np.testing.assert_array_equal(ds.get_tensor("big"), (np.arange((12 << 20) // 4) % 4096).astype(np.float32))
    np.testing.assert_array_equal(ds.get_meta_scalars("time"), [0.5, 1.5])
    assert ds.get_meta_scalars("step").dtype == np.int32
    assert ds.get_meta_strings("units") == ["m/s", "K"]
    assert ds.get_meta_strings("note") == ['quote " backslash \\ tab\t ünicöde']
    listed = store_client.get_datasets_from_list("clist")
    assert [d.name for d in listed] == ["cds", "cds2"]
    np.testing.assert_array_equal(listed[1].get_tensor("u"), 2 * np.arange(12.0).reshape(3, 4))
    assert not store_client.dataset_exists("cds3")  # deleted by C
    assert not store_keys(c_store.address, "{cds3}*")


def test_datasets_written_in_python_read_in_c(native_c, store_client, c_store):
    for name, scale in (("pds", 1), ("pds2", 10)):
        ds = Dataset(name)
        ds.add_tensor("a", scale * np.arange(6.0).reshape(2, 3))
        ds.add_tensor("b", np.array([5, 6, 7, 8], dtype=np.int64))
        ds.add_meta_scalar("dt", np.float32(0.25))
        ds.add_meta_scalar("dt", np.float32(0.5))
        ds.add_meta_scalar("n", 3)
        ds.add_meta_string("tags", "alpha")
        ds.add_meta_string("tags", "βeta")
        store_client.put_dataset(ds)
        store_client.append_to_list("plist", ds)
    run_case(native_c, c_store.address, "datasets_read")
    assert store_client.get_list_length("plist") == 0  # deleted by C


def test_dataset_overwrite_from_c_drops_stale_tensors(native_c, store_client, c_store):
    """Python writes cds with an extra tensor; C's put of cds removes it in the same transaction."""
    ds = Dataset("cds")
    ds.add_tensor("extra", np.ones(3))
    store_client.put_dataset(ds)
    run_case(native_c, c_store.address, "datasets_write")
    assert not store_client.key_exists("{cds}.extra")
    assert store_client.get_dataset("cds").get_tensor_names() == ["u", "v", "f", "big"]


# -- prefixes ----------------------------------------------------------------------------


def test_key_prefixes(native_c, store_client, c_store, monkeypatch):
    store_client.put_tensor("member0.x", np.array([100.0, 0, 0]))
    store_client.put_tensor("other.x", np.array([200.0, 0, 0]))
    run_case(
        native_c, c_store.address, "prefixes", SIMDASK_KEY_PREFIX="member1", SIMDASK_KEY_PREFIXES_IN="member0,other"
    )
    r = store_client.redis()
    assert r.exists("member1.t") and not r.exists("t")
    assert r.hget("member1.{pd}.meta", ".COMPLETE") == b"1"
    assert r.lrange("member1.pl", 0, -1) == [b"member1.{pd}"]
    assert not r.exists("member1.gone")
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "member1")
    with Client(c_store.address) as member:  # Python with the same prefix reads C's data
        np.testing.assert_array_equal(member.get_tensor("t"), [1.0, 2.0, 3.0])
        np.testing.assert_array_equal(member.get_dataset("pd").get_tensor("t"), [1.0, 2.0, 3.0])
        assert [d.name for d in member.get_datasets_from_list("pl")] == ["pd"]


# -- run requests ----------------------------------------------------------------------------


def test_run_model_and_script(native_c, store_client, c_store):
    """sd_run_model / sd_run_script against a stand-in responder that records the raw requests (the wire check;
    test_c_inference.py runs the same program against the real service)."""
    with Responder(c_store.address) as responder:
        run_case(native_c, c_store.address, "requests")
    kinds = [(q.get("model") or q.get("script"), q.get("function")) for q in responder.requests]
    assert kinds == [
        ("copy", None),
        ("fail", None),
        ("slow", None),
        ("double", "twice"),
        ("double", "nope"),
        ("copy", None),
        ("slow", None),
        ("copy", None),
    ]
    first = responder.requests[0]
    assert first["inputs"] == '["in1","in2"]' and first["outputs"] == '["out1","out2"]'
    assert re.fullmatch(r"simdask:reply:\{simdask:requests\}:[0-9a-f]{32}", first["reply"])  # on the stream's slot


def test_run_model_with_prefixes(native_c, store_client, c_store):
    """Inputs go with the read prefix, outputs with the write prefix."""
    with Responder(c_store.address) as responder:
        run_case(native_c, c_store.address, "requests", SIMDASK_KEY_PREFIX="m1")
    assert responder.requests[0]["inputs"] == '["m1.in1","m1.in2"]'
    assert responder.requests[0]["outputs"] == '["m1.out1","m1.out2"]'


# -- cluster ------------------------------------------------------------------------------------


def test_cluster_from_c(native_c, c_cluster_store):
    address = c_cluster_store.address
    assert address.count(",") == 2
    with Client(address) as client:
        client.flush()
        run_case(native_c, address, "cluster")
        big = client.get_tensor("cl_big")
        np.testing.assert_array_equal(big, np.arange(2048 * 1500, dtype=np.float64).reshape(2048, 1500))
        assert client.get_dataset("clds").get_tensor_names() == ["u", "v", "f", "big"]
        np.testing.assert_array_equal(client.get_tensor("cl_137"), 1370 + np.arange(8.0))
        # chunks live on the head's shard; overwrite and delete left exactly one generation / none
        chunks = store_keys(address, "simdask:chunk:*")
        assert sum("{cl_big}" in k for k in chunks) == 6
        assert sum("{tagged}" in k for k in chunks) == 6
        assert not any("{other}" in k for k in chunks)
        r = client.redis()
        for key in ("simdask:chunk:{tagged}:x", "simdask:chunk:{cl_big}:x"):
            tag = key.split("{")[1].split("}")[0]
            head = "cl_{tagged}big" if tag == "tagged" else "cl_big"
            assert r.cluster_keyslot(key) == r.cluster_keyslot(head)


def test_cluster_through_one_node(native_c, c_cluster_store):
    """One host:port of a cluster: the client finds the others with CLUSTER SLOTS."""
    first = c_cluster_store.address.split(",")[0]
    with Client(c_cluster_store.address) as client:
        client.flush()
    run_case(native_c, first, "cluster")


def test_cluster_run_requests(native_c, c_cluster_store):
    with Client(c_cluster_store.address) as client:
        client.flush()
    with Responder(c_cluster_store.address):
        run_case(native_c, c_cluster_store.address, "requests")


def test_cluster_moved_and_ask(native_c):
    """A slot migrates under a connected client: -MOVED refreshes the map, -ASK is followed once."""
    import redis

    with Store(kind="cluster", shards=3, password="") as store:  # no password: redis-py and MIGRATE without AUTH
        nodes = {}
        for part in store.address.split(","):
            host, _, port = part.rpartition(":")
            r = redis.Redis(host=host, port=int(port))
            nodes[r.execute_command("CLUSTER", "MYID").decode()] = (r, host, int(port))
        any_node = next(iter(nodes.values()))[0]
        slot = any_node.cluster("keyslot", "{mv}a")
        owner = next(s[2][2].decode() for s in any_node.execute_command("CLUSTER", "SLOTS") if s[0] <= slot <= s[1])
        target = next(n for n in nodes if n != owner)
        src, dst = nodes[owner][0], nodes[target][0]

        prog = Interactive([native_c.c_tests, "redirects"], native_env(store.address))
        prog.expect("MIGRATE")
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", owner)
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target)
        keys = src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1000)
        assert len(keys) == 1 + 1 + 3  # {mv}a, {mv}big and its 3 chunks
        src.execute_command("MIGRATE", nodes[target][1], nodes[target][2], "", 0, 10000, "KEYS", *keys)
        for r, _, _ in nodes.values():
            r.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target)
        prog.go()
        prog.expect("ASK")
        # migrate back, keys staying where they are: new keys must go to the importing node
        src.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", target)
        dst.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", owner)
        prog.go()
        prog.expect("DONE")
        with src.pipeline(transaction=False) as p:
            p.execute_command("ASKING")
            p.execute_command("EXISTS", "{mv}new", "{mv}newbig")
            assert p.execute()[1] == 2  # written on the importing node through ASK
        assert dst.exists("{mv}a", "{mv}c") == 2
        with pytest.raises(redis.exceptions.AskError):  # not on the migrating node
            dst.exists("{mv}new")
        prog.go()
        prog.finish()
