"""Build, install and run simdask's C and Fortran clients for the tests.

Shared by ``tests/client_c`` and ``tests/client_fortran`` (each conftest
loads this file). Once per session, into the pytest base temp dir:

1. ``cmake -S client_c -B .../build-c``, build, ``cmake --install --prefix .../prefix``;
2. the C test program ``c_tests.c`` twice: through ``find_package(simdask)``
   (shared library) and through ``pkg-config --static`` (static library);
   the fault test program ``c_faults.c`` through ``find_package``;
3. on request, ``client_fortran`` the same way (finding the C client through
   its CMake package) and the Fortran test program through
   ``pkg-config simdask-fortran``.

Environment switches (for a one-off check, not CI): ``SIMDASK_C_SANITIZE=1``
builds everything with AddressSanitizer + UBSan; ``SIMDASK_C_VALGRIND=1``
runs every native program under valgrind (memcheck, leaks of kind
"definite" are errors).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
FORTRAN_TESTS = ROOT / "tests" / "client_fortran"

SANITIZE = os.environ.get("SIMDASK_C_SANITIZE", "") not in ("", "0")
VALGRIND = os.environ.get("SIMDASK_C_VALGRIND", "") not in ("", "0")
SAN_FLAGS = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"] if SANITIZE else []
JOBS = str(max(1, min(4, os.cpu_count() or 1)))


def missing_c_tools() -> str | None:
    """Why the C client cannot be built here, or None."""
    for tool in ("gcc", "cmake", "pkg-config"):
        if shutil.which(tool) is None:
            return f"{tool} not found (apt-get install gcc cmake pkg-config libhiredis-dev)"
    if subprocess.run(["pkg-config", "--exists", "hiredis"]).returncode != 0:
        return "hiredis not found by pkg-config (apt-get install libhiredis-dev)"
    return None


def missing_fortran_tools() -> str | None:
    reason = missing_c_tools()
    if reason:
        return reason
    if shutil.which("gfortran") is None:
        return "gfortran not found (apt-get install gfortran)"
    return None


def run(cmd: Sequence[str | os.PathLike], *, cwd: Path | None = None, env: dict | None = None) -> str:
    """Run a build command; on failure raise with its whole output."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout + proc.stderr


@dataclass
class Native:
    """What the session built."""

    base: Path
    prefix: Path
    c_tests: Path
    c_tests_static: Path
    c_faults: Path
    build_log: list[str] = field(default_factory=list)
    f_tests: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        """Environment in which pkg-config and find_package see the installed clients."""
        env = dict(os.environ)
        env["PKG_CONFIG_PATH"] = os.pathsep.join(
            p for p in (str(self.prefix / "lib" / "pkgconfig"), env.get("PKG_CONFIG_PATH", "")) if p
        )
        env["CMAKE_PREFIX_PATH"] = os.pathsep.join(p for p in (str(self.prefix), env.get("CMAKE_PREFIX_PATH", "")) if p)
        return env

    def cmake_build(self, source: Path, build: Path, *extra: str) -> None:
        """Configure and build a CMake project against the installed clients."""
        flags = " ".join(SAN_FLAGS)
        run(
            [
                "cmake",
                "-S",
                source,
                "-B",
                build,
                f"-DCMAKE_PREFIX_PATH={self.prefix}",
                "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                f"-DCMAKE_C_FLAGS={flags}",
                f"-DCMAKE_Fortran_FLAGS={flags}",
                f"-DCMAKE_EXE_LINKER_FLAGS={flags}",
                *extra,
            ],
            env=self.env,
        )
        run(["cmake", "--build", build, "-j", JOBS], env=self.env)


def _pkg_config(native_env: dict, *args: str) -> list[str]:
    return run(["pkg-config", *args], env=native_env).split()


def build_c(base: Path) -> Native:
    """Build, install and compile the C test programs (skipped if done this session)."""
    stamp = base / "c.json"
    prefix = base / "prefix"
    if stamp.exists():
        return Native(**{k: Path(v) if k != "build_log" else v for k, v in json.loads(stamp.read_text()).items()})
    base.mkdir(parents=True, exist_ok=True)
    build = base / "build-c"
    run(
        [
            "cmake",
            "-S",
            ROOT / "client_c",
            "-B",
            build,
            "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
            f"-DSIMDASK_SANITIZE={'ON' if SANITIZE else 'OFF'}",
        ]
    )
    log = run(["cmake", "--build", build, "-j", JOBS])
    run(["cmake", "--install", build, "--prefix", prefix])
    native = Native(
        base=base,
        prefix=prefix,
        c_tests=base / "c-tests" / "c_tests",
        c_tests_static=base / "c_tests_static",
        c_faults=base / "c-tests" / "c_faults",
        build_log=[log],
    )
    native.cmake_build(HERE, base / "c-tests")
    # the same program linked statically, through pkg-config
    cflags = _pkg_config(native.env, "--cflags", "simdask")
    libs = [a for a in _pkg_config(native.env, "--static", "--libs", "simdask") if a != "-lsimdask"]
    run(
        [
            "gcc",
            "-std=c11",
            "-O1",
            "-g",
            "-Wall",
            "-Wextra",
            *SAN_FLAGS,
            *cflags,
            HERE / "c_tests.c",
            "-o",
            native.c_tests_static,
            "-Wl,-Bstatic",
            "-lsimdask",
            "-Wl,-Bdynamic",
            *libs,
        ],
        env=native.env,
    )
    stamp.write_text(
        json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in native.__dict__.items() if k != "f_tests"})
    )
    return native


def build_fortran(native: Native) -> Path:
    """Build and install the Fortran client into the same prefix; compile its test program."""
    out = native.base / "f_tests"
    if out.exists():
        return out
    build = native.base / "build-fortran"
    run(
        [
            "cmake",
            "-S",
            ROOT / "client_fortran",
            "-B",
            build,
            "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
            f"-DCMAKE_PREFIX_PATH={native.prefix}",
            f"-DCMAKE_Fortran_FLAGS={' '.join(SAN_FLAGS)}",
            f"-DCMAKE_SHARED_LINKER_FLAGS={' '.join(SAN_FLAGS)}",
        ],
        env=native.env,
    )
    run(["cmake", "--build", build, "-j", JOBS], env=native.env)
    run(["cmake", "--install", build, "--prefix", native.prefix], env=native.env)
    flags = _pkg_config(native.env, "--cflags", "--libs", "simdask-fortran")
    run(
        [
            "gfortran",
            "-O1",
            "-g",
            "-std=f2018",
            "-Wall",
            *SAN_FLAGS,
            FORTRAN_TESTS / "f_tests.F90",
            *flags,
            f"-Wl,-rpath,{native.prefix / 'lib'}",
            "-o",
            out,
        ],
        cwd=native.base,
        env=native.env,
    )
    return out


def wrap(cmd: Sequence[str | os.PathLike]) -> list[str]:
    """The command line, under valgrind when SIMDASK_C_VALGRIND is set."""
    cmd = [str(c) for c in cmd]
    if VALGRIND:
        return [
            "valgrind",
            "--quiet",
            "--error-exitcode=97",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
            *cmd,
        ]
    return cmd


#: What the C client reads to find the run of an MPI or Slurm launch (client_c/src/runs.c).
LAUNCHER_RUN_VARS = (
    "PMIX_NAMESPACE",
    "OMPI_MCA_ess_base_jobid",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "SLURM_STEP_ID",
    "PMI_RANK",
    "PMI_SIZE",
)


def native_env(address: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for a native program: the store address plus ``extra``; none of the launcher variables that
    put a client in a run (docs/protocol.md, "Runs"), so that a suite run under mpirun or srun writes plain keys."""
    env = {
        k: v
        for k, v in os.environ.items()
        if (not k.startswith("SIMDASK_") or k in ("SIMDASK_SERVER_BIN",)) and k not in LAUNCHER_RUN_VARS
    }
    if address is not None:
        env["SIMDASK_ADDRESS"] = address
    if SANITIZE:
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.update(extra)
    return env


def run_program(
    cmd: Sequence[str | os.PathLike], env: dict[str, str], *, timeout: float = 180, expect_ok: bool = True
) -> subprocess.CompletedProcess:
    """Run a native program; with expect_ok, fail the test showing its output unless it exits 0."""
    proc = subprocess.run(wrap(cmd), env=env, capture_output=True, text=True, timeout=timeout)
    if expect_ok and proc.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, cmd))} exited with {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}",
            pytrace=False,
        )
    return proc


class Interactive:
    """A native program that prints a line and waits for one on stdin between steps."""

    def __init__(self, cmd: Sequence[str | os.PathLike], env: dict[str, str]) -> None:
        self.cmd = [str(c) for c in cmd]
        self.proc = subprocess.Popen(
            wrap(cmd), env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def expect(self, marker: str) -> None:
        line = self.proc.stdout.readline()
        if line.strip() != marker:
            self.finish(expect_ok=False)
            pytest.fail(
                f"{self.cmd}: expected {marker!r}, got {line!r}; stderr:\n{self.proc.stderr.read()}", pytrace=False
            )

    def until(self, marker: str, timeout: float = 60) -> list[str]:
        """The lines printed before ``marker``; fails, killing the program, when it does not come in ``timeout`` s
        (a call that hangs fails the test rather than holding it)."""
        import threading

        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            box: list[str] = []
            reader = threading.Thread(target=lambda out=box: out.append(self.proc.stdout.readline()), daemon=True)
            reader.start()
            reader.join(max(0.0, deadline - time.monotonic()))
            if not box or not box[0]:
                self.proc.kill()
                _, err = self.proc.communicate()
                pytest.fail(
                    f"{self.cmd}: no {marker!r} within {timeout} s; printed {lines}; stderr:\n{err}", pytrace=False
                )
            if box[0].strip() == marker:
                return lines
            lines.append(box[0].rstrip("\n"))

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 120, expect_ok: bool = True) -> tuple[str, str]:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        if expect_ok and self.proc.returncode != 0:
            pytest.fail(
                f"{self.cmd} exited with {self.proc.returncode}\n--- stdout\n{out}\n--- stderr\n{err}", pytrace=False
            )
        return out, err


# -- a store that misbehaves -----------------------------------------------------------


@contextmanager
def frozen(store):
    """The store's first server stopped (SIGSTOP) for the block: it still accepts connections (the kernel does)
    but answers nothing, as a hung or swapped-out server; always continued (SIGCONT) after."""
    pid = store.servers[0].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def timings(lines: Sequence[str]) -> dict[str, tuple[str, int]]:
    """{name: (status, ms)} of the ``TIMED <name> <status> <ms>`` lines a test program printed."""
    return {
        name: (status, int(ms)) for _, name, status, ms in (line.split() for line in lines if line.startswith("TIMED "))
    }


def lines_while_frozen(argv: Sequence[str], env: dict[str, str], store) -> list[str]:
    """Run a test program that prints ``FREEZE``, does its calls while ``store`` is frozen until it
    prints ``THAW``, then works again after SIGCONT; its output lines of the frozen part."""
    prog = Interactive(list(argv), env)
    prog.expect("FREEZE")
    with frozen(store):
        prog.go()
        lines = prog.until("THAW", timeout=60)
    prog.go()
    prog.finish()
    return lines


def assert_timed_out(lines: Sequence[str], deadlines: dict[str, int], status: str, margin_ms: int) -> None:
    """Each call of ``deadlines`` (ms) reported ``status`` no sooner than 0.9 s and within its deadline + margin."""
    got = timings(lines)
    assert set(got) == set(deadlines), lines
    for name, deadline in deadlines.items():
        reported, ms = got[name]
        assert reported == status, (name, reported)
        assert 900 <= ms <= deadline + margin_ms, f"{name} took {ms} ms (deadline {deadline} ms)"


# -- a stand-in for the inference service -------------------------------------------


class Responder:
    """Answers run requests the way DESIGN.md's inference service does, and records them.

    This thread reads ``simdask:requests`` from the real store and pushes
    ``OK``/``ERR <message>`` to each reply key, keeping every raw request so
    that tests check the exact fields the C and Fortran clients send (the
    real service runs the same programs in ``test_*_inference.py``). It holds
    a serving loop's lease while it runs, as the real service does, so that
    run requests reach the stream.
    Models: ``copy`` (inputs -> outputs), ``fail`` (answers ERR), ``slow``
    (never answers); script ``double`` with function ``twice`` (outputs = 2 * inputs).
    """

    STREAM = "simdask:requests"

    def __init__(self, address: str) -> None:
        import threading

        from simdask import Client

        self.client = Client(address)
        self.redis = self.client.redis()
        self.requests: list[dict[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="simdask-test-responder", daemon=True)
        newest = self.redis.xrevrange(self.STREAM, count=1)
        self._last = newest[0][0] if newest else "0-0"

    def __enter__(self) -> Responder:
        from simdask.protocol.requests import mark_loops_alive

        mark_loops_alive(self.client.session, ["simdask-test-responder"], 3_600_000)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        from simdask.protocol.requests import drop_loops

        self._stop.set()
        self._thread.join(timeout=10)
        drop_loops(self.client.session, ["simdask-test-responder"])
        self.client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for _stream, entries in self.redis.xread({self.STREAM: self._last}, count=16, block=100) or []:
                for entry_id, fields in entries:
                    self._last = entry_id
                    request = {k.decode(): v.decode() for k, v in fields.items()}
                    self.requests.append(request)
                    answer = self._answer(request)
                    if answer is not None:
                        self.redis.rpush(request["reply"], answer)
                        self.redis.expire(request["reply"], 60)

    def _answer(self, request: dict[str, str]) -> str | None:
        import json

        inputs, outputs = json.loads(request["inputs"]), json.loads(request["outputs"])
        try:
            if request.get("model") == "copy":
                for i, o in zip(inputs, outputs):
                    self.client.put_tensor(o, self.client.get_tensor(i))
                return "OK"
            if request.get("model") == "fail":
                return "ERR model 'fail' exploded on purpose"
            if request.get("model") == "slow":
                return None
            if request.get("script") == "double":
                if request.get("function") != "twice":
                    return f"ERR script 'double' has no function '{request.get('function')}'"
                for i, o in zip(inputs, outputs):
                    self.client.put_tensor(o, 2 * self.client.get_tensor(i))
                return "OK"
            return f"ERR unknown request {request}"
        except Exception as exc:  # reported to the caller, as the service would
            return f"ERR {type(exc).__name__}: {exc}"


def load_steer():
    """examples/c/steer.py as a module: its initial field and numpy reference solution."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("simdask_example_steer", ROOT / "examples" / "c" / "steer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_steered(cmd: Sequence[str | os.PathLike], client, address: str) -> subprocess.CompletedProcess:
    """Run a diffusion example while a Python thread puts ``kappa = 0.2`` once it wrote step 25."""
    import threading

    import numpy as np

    def steer() -> None:
        if client.poll_tensor("u.0025", 20, 500):
            client.put_tensor("kappa", np.float64(0.2))

    thread = threading.Thread(target=steer)
    thread.start()
    try:
        return run_program(cmd, native_env(address), timeout=120)
    finally:
        thread.join()


def store_responder_models(client) -> None:
    """Store real models that behave as :class:`Responder`'s names do, for the real inference service.

    ``copy`` returns its inputs, ``fail`` raises "the model exploded", ``slow``
    answers after 2 s (it is held waiting for a batch that never fills, without
    keeping the service from answering the others), script ``double`` has a
    function ``twice``.
    """
    from typing import Optional

    import torch

    class Copy(torch.nn.Module):
        def forward(self, a: torch.Tensor, b: Optional[torch.Tensor] = None) -> list[torch.Tensor]:  # noqa: UP045
            return [a] if b is None else [a, b]

    class Fail(torch.nn.Module):
        def forward(self, a: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("the model exploded")

    client.set_model("copy", torch.jit.script(Copy()), "TORCH")
    client.set_model("fail", torch.jit.script(Fail()), "TORCH")
    client.set_model(
        "slow", torch.jit.script(Copy()), "TORCH", batch_size=1000, min_batch_size=1000, min_batch_timeout=2000
    )
    client.set_script("double", "def twice(x):\n    return 2 * x\n")


def store_keys(address: str, pattern: str, password: str | None = None) -> list[str]:
    """Every key matching ``pattern`` on every server of a store address (``password``: as a client finds it)."""
    import redis

    from simdask.protocol import SessionOptions

    if password is None:
        password = SessionOptions.resolve(address).password
    keys: list[str] = []
    for part in address.split(","):
        if part.startswith("unix://"):
            r = redis.Redis(unix_socket_path=part[len("unix://") :], password=password)
        else:
            host, _, port = part.rpartition(":")
            r = redis.Redis(host=host.strip("[]"), port=int(port), password=password)
        keys += [k.decode() for k in r.keys(pattern)]
        r.close()
    return sorted(keys)


# -- fixtures (imported by the conftest files) ---------------------------------------


@pytest.fixture(scope="session")
def native_c(tmp_path_factory) -> Native:
    """The installed C client and its test programs (built once per session)."""
    reason = missing_c_tools()
    if reason:
        pytest.skip(f"C client not built: {reason}")
    return build_c(tmp_path_factory.getbasetemp() / "simdask-native")


@pytest.fixture(scope="session")
def native_fortran(native_c) -> Native:
    """The installed C and Fortran clients and the Fortran test program."""
    reason = missing_fortran_tools()
    if reason:
        pytest.skip(f"Fortran client not built: {reason}")
    native_c.f_tests = build_fortran(native_c)
    return native_c


def _shared_or_own(request, shared: str, **kwargs):
    """The session store of tests/conftest.py named ``shared``, else one started here."""
    from simdask import Store

    try:
        yield request.getfixturevalue(shared)
        return
    except pytest.FixtureLookupError:
        pass
    with Store(**kwargs) as store:
        yield store


@pytest.fixture(scope="session")
def c_store(request):
    """A standalone TCP store (the suite's ``standalone_store``) for the native clients' tests."""
    yield from _shared_or_own(request, "standalone_store")


@pytest.fixture(scope="session")
def c_unix_store(request):
    yield from _shared_or_own(request, "unix_store", kind="unix")


@pytest.fixture(scope="session")
def c_cluster_store(request):
    yield from _shared_or_own(request, "cluster_store", kind="cluster", shards=3)


@pytest.fixture
def store_client(c_store):
    """A Python client on ``c_store``, emptied before the test."""
    from simdask import Client

    client = Client(c_store.address)
    client.flush()
    yield client
    client.close()


__all__ = [
    "Native",
    "Interactive",
    "Responder",
    "frozen",
    "timings",
    "store_keys",
    "store_responder_models",
    "load_steer",
    "run_steered",
    "build_c",
    "build_fortran",
    "native_env",
    "run_program",
    "wrap",
    "native_c",
    "native_fortran",
    "c_store",
    "c_unix_store",
    "c_cluster_store",
    "store_client",
    "missing_c_tools",
    "missing_fortran_tools",
    "ROOT",
    "SANITIZE",
    "VALGRIND",
]
if __name__ == "__main__":  # pragma: no cover - manual use: build into a folder
    print(build_c(Path(sys.argv[1])))
