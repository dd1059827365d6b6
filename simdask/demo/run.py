"""The demo's story, from the build to the report; :func:`run_demo` is ``simdask demo``."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import xarray as xr

from ..bridge import to_zarr
from ..client import Client
from ..errors import ExperimentTimeoutError, SimdaskError
from ..experiment import Experiment
from ..experiment.entities import DaskCluster, Model, StoreEntity
from .analysis import CONCAT, TEMPLATE, Controller, Switch, Trace, follow
from .build import LANGUAGES, Program, build_programs, checkout
from .report import Results, summary_lines, write_html, write_plots, write_tables
from .standin import substeps
from .surrogate import MODEL, STOP_KEY, Backend, choose_backend, initial_model, preload, train_online

__all__ = ["DemoSettings", "run_demo"]

#: The file that marks a folder as the demo's output (a re-run empties only such a folder).
_MARKER = ".simdask-demo"
#: Seconds any one phase may wait (a build aside): the store, the workers, a step, the end of a run.
_TIMEOUT_S = 120.0


@dataclass
class DemoSettings:
    """What ``simdask demo`` runs; the defaults are ``make demo``'s."""

    steps: int = 200  # of each simulation
    size: int = 64  # edge of the square grid
    ranks: int = 2  # MPI ranks of each native simulation
    languages: tuple[str, ...] = ("C", "Fortran")
    out: Path = field(default_factory=lambda: Path("demo-output"))
    build_dir: Path | None = None  # None: default_build_dir()
    clients_prefix: Path | None = None  # installed C/Fortran clients to build against (None: build them)
    build: bool = True  # False: Python ranks stand in
    keep_up: bool = False  # keep everything up after the summary, until Ctrl-C
    pause_ms: float = 50.0  # least wall time of a step
    lag: int = 16  # steps a simulation may run ahead of its analysis
    eps: float = 2.0  # radiative cooling: R(T) = eps * T**4
    sample_every: int = 2  # steps between training samples
    tolerance: float = 0.02  # model error (of the largest cooling) under which the surrogate is used
    heating: float = 20.0  # the heating before the analysis steers

    def default_build_dir(self) -> Path:
        """``.simdask/demo-build`` in the checkout (else in the current folder)."""
        return (checkout() or Path.cwd()) / ".simdask" / "demo-build"


@contextmanager
def _uninterrupted() -> Iterator[None]:
    """Ctrl-C is ignored during the block, when this is the main thread: by the clean-up, and by the processes
    started in it (they inherit the ignoring; a Python started so installs no Ctrl-C handler)."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _dashboard_address() -> str:
    """127.0.0.1:8787 when free, else any free port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 8787))
        except OSError:
            return "127.0.0.1:0"
    return "127.0.0.1:8787"


def _prepare_output(out: Path) -> None:
    """Make ``out`` the demo's folder; the files of an earlier demo there are removed, nothing else is."""
    if out.exists() and any(out.iterdir()) and not (out / _MARKER).exists():
        raise ValueError(f"{out} exists and is not a simdask demo's output: name another folder with --out")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / _MARKER).write_text("written by simdask demo; running it again empties this folder\n")


class _Demo:
    """One run of the demo: the experiment's entities and what the run measured."""

    def __init__(self, settings: DemoSettings, say: Callable[[str], None]) -> None:
        self.settings = settings
        self.say = say
        self.out = settings.out.resolve()
        self.started = time.monotonic()
        self.client: Client | None = None
        self.server: Any = None  # the InferenceServer, once started

    def elapsed(self) -> str:
        return f"[{time.monotonic() - self.started:5.1f} s]"

    def programs(self) -> dict[str, Program]:
        s = self.settings
        if not s.build:
            return {
                lang: Program(lang, None, f"a Python rank stands in for the {lang} program (asked for: --no-build)")
                for lang in s.languages
            }
        build_dir = (s.build_dir or s.default_build_dir()).resolve()
        return build_programs(s.languages, build_dir, self.say, s.clients_prefix)

    def model(self, exp: Experiment, program: Program, backend: Backend) -> Model:
        """The simulation of ``program`` as an entity of ``exp``: MPI ranks, or the one-rank Python stand-in."""
        s = self.settings
        name = f"heat_{program.language.lower()}"
        args = [
            s.size,
            s.size,
            s.steps,
            s.eps,
            s.sample_every,
            f"control_{program.language.lower()}",
            MODEL if backend.name else "-",
            s.pause_ms,
            s.lag,
        ]
        if program.path is None:
            return exp.create_model(name, sys.executable, ["-m", "simdask.demo.standin", *args], run_command=None)
        run_args = ["--oversubscribe", "--bind-to", "none", *(["--allow-run-as-root"] if os.geteuid() == 0 else [])]
        return exp.create_model(
            name, str(program.path), args, tasks_per_node=s.ranks, run_command="mpirun", run_args=run_args
        )

    def run(self) -> Results:
        s, say = self.settings, self.say
        _prepare_output(self.out)
        say(f"simdask demo: a heated plate in {' and '.join(s.languages)}, steered live; output in {self.out}")
        say(f"\n{self.elapsed()} 1. the simulations (MPI programs on the C and Fortran clients)")
        programs = self.programs()
        build_s = time.monotonic() - self.started
        for program in programs.values():
            say(f"  {program.language}: {program.note}")
        backend = choose_backend()
        say(f"  surrogate: {backend.description}")

        exp = Experiment("simdask-demo", exp_path=self.out / "run", launcher="local")
        store = exp.create_store()
        models = {lang: self.model(exp, program, backend) for lang, program in programs.items()}
        dask = exp.create_dask_cluster(
            workers=2, cores=2, memory="2GiB", dashboard_address=_dashboard_address(), silence_logs=logging.ERROR
        )
        try:
            dask_client = self._start(exp, store, dask, list(models), backend)
            say(f"\n{self.elapsed()} 3. the simulations start; the analysis watches, computes on Dask and steers")
            exp.start(*models.values())
            for lang, model in models.items():
                say(f"  {lang}: run {model.run_id}, {model.batch.ntasks} rank(s): {Path(model.exe).name}")
            trainer = None
            if backend.name:
                run_ids = [_run_id(m) for m in models.values()]
                trainer = dask_client.submit(
                    train_online, store.address, run_ids, backend.name, s.eps, pure=False, key="simdask-demo-trainer"
                )
                say("  training: the surrogate is fitted on a Dask worker to the samples the simulations send")
            traces = self._analyse(exp, models, store.address, dask_client, backend)

            say(f"\n{self.elapsed()} 4. results")
            exp.wait(*models.values(), timeout=_TIMEOUT_S)
            results = Results(
                grid=(s.size, s.size),
                steps=s.steps,
                substeps=substeps(s.size, s.size),
                ranks={lang: m.batch.ntasks for lang, m in models.items()},
                programs={lang: _what_ran(p) for lang, p in programs.items()},
                backend=backend.name,
                backend_note=backend.description,
                traces=traces,
                archives={lang: self.out / f"heat_{lang.lower()}.zarr" for lang in models},
                dashboard=self._link(dask),
                kept_up=s.keep_up,
                logs={lang: m.path for lang, m in models.items()},
                build_s=build_s,
            )
            self._results(results, models, store.address, trainer)
            if s.keep_up:
                self._keep_up(store.address, dask)
            return results
        except KeyboardInterrupt:
            say("\nCtrl-C: stopping everything")
            raise
        finally:
            with _uninterrupted():
                if self.server is not None:
                    try:
                        self.server.stop(timeout=10)
                    except SimdaskError as exc:  # the cluster's stop below ends whatever still runs
                        say(f"  {exc}")
                if self.client is not None:
                    self.client.close()
                exp.stop()
            say(f"{self.elapsed()} stopped: store, Dask cluster, inference service and simulations; simdask demo done")

    def _start(
        self, exp: Experiment, store: StoreEntity, dask: DaskCluster, languages: list[str], backend: Backend
    ) -> Any:
        """The store (with the first steering values and the untrained model), the Dask cluster and the inference
        service on it; the cluster's ``distributed.Client``."""
        s, say = self.settings, self.say
        say(f"\n{self.elapsed()} 2. an Experiment starts the store and a Dask cluster")
        exp.start(store)
        self.client = client = Client(store.address)
        say(f"  store (valkey) at {store.address}, run directory {exp.exp_path}")
        for lang in languages:
            client.put_tensor(f"control_{lang.lower()}", np.array([s.heating, 0.0, -1.0]))
        if backend.name:
            version = client.set_model(MODEL, initial_model(backend.name, s.eps), backend.name)
            say(f"  model {MODEL!r} v{version} stored (untrained, so that run_model answers from the first step)")
        with _uninterrupted():  # its worker processes share our process group: Ctrl-C there is for us
            exp.start(dask)
        dask_client = dask.get_client(timeout=_TIMEOUT_S)
        say(f"  Dask cluster: {len(dask_client.scheduler_info()['workers'])} workers, dashboard {self._link(dask)}")
        try:  # the simdask page on that dashboard: the store, the runs, the inference service
            from ..dashboard import install

            page = install(dask_client, store.address, interval=1.0)
            say(f"  simdask page on the dashboard: {page}")
        except (ImportError, SimdaskError, OSError) as exc:
            say(f"  no simdask page on the dashboard ({exc}; it needs bokeh: pip install 'simdask[dashboard]')")
        if backend.name:
            from ..inference import InferenceServer

            runtimes = dask_client.run(preload, backend.name)
            say(f"  {backend.name.lower()} {next(iter(runtimes.values()))} loaded on every worker")
            self.server = InferenceServer(store.address, dask_client).start()
            say(f"  inference service {self.server.name!r}: one serving loop per worker")
        return dask_client

    def _results(self, results: Results, models: dict[str, Model], address: str, trainer: Any) -> None:
        """Collect what the runs left, archive them as zarr, write the plots, tables and report; print the summary."""
        self._collect(results, models, address)
        with ThreadPoolExecutor(len(models)) as pool:  # both archives at once: the workers have the threads
            copies = [
                pool.submit(to_zarr, TEMPLATE, str(path), address, concat=CONCAT, chunks="auto", run=_run_id(model))
                for path, model in zip(results.archives.values(), models.values())
            ]
            for copy in copies:
                copy.result()
        for lang, path in results.archives.items():
            _diagnostics_from(path, results.traces[lang])
        self.say(f"  zarr archives: {', '.join(p.name for p in results.archives.values())} (written by the workers)")
        if self.server is not None and self.client is not None and trainer is not None:
            self._inference_results(results, self.client, self.server, trainer)
        images = write_plots(results, self.out)
        if not images:
            self.say("  no plots: matplotlib is not installed (pip install matplotlib)")
        results.wall_s = time.monotonic() - self.started
        summary = summary_lines(results)
        tables = write_tables(results, self.out)
        report = write_html(results, self.out, images, tables, summary)
        self.say("")
        for line in summary:
            self.say(line)
        written = [report, *images, *tables, *results.archives.values()]
        self.say(f"output       {self.out}: {', '.join(p.name for p in written)}")

    def _link(self, dask: DaskCluster) -> str:
        return str(getattr(dask.cluster, "dashboard_link", "") or "")

    def _analyse(
        self, exp: Experiment, models: dict[str, Model], address: str, dask_client: Any, backend: Backend
    ) -> dict[str, Trace]:
        """Follow every run in a thread of its own until it ends (watch, diagnostics on Dask, steering)."""
        switch = Switch(self.settings.eps, self.settings.tolerance) if backend.name else None
        traces = {lang: Trace(lang) for lang in models}
        threads = [
            threading.Thread(
                target=follow,
                args=(
                    traces[lang],
                    address,
                    _run_id(model),
                    f"control_{lang.lower()}",
                    Controller(self.settings.steps, heating=self.settings.heating),
                    dask_client,
                    switch,
                    self.say,
                ),
                kwargs={"timeout": _TIMEOUT_S},
                name=f"simdask-demo-{lang}",
                daemon=True,
            )
            for lang, model in models.items()
        ]
        for thread in threads:
            thread.start()
        alive = threads
        while alive and not any(trace.error for trace in traces.values()):  # a failed run fails the demo at once
            alive[0].join(0.2)  # with a timeout, so that Ctrl-C gets through
            alive = [thread for thread in alive if thread.is_alive()]
        for trace in traces.values():
            if trace.error is not None:
                try:  # a simulation that failed says why: JobFailedError with its stderr's tail
                    exp.wait(*models.values(), timeout=5)
                except ExperimentTimeoutError:
                    pass
                raise trace.error
        return traces

    def _collect(self, results: Results, models: dict[str, Model], address: str) -> None:
        """What each run put at its end: latencies and bytes per rank; how long it ran."""
        for lang, model in models.items():
            reader = Client(address)
            try:
                reader.set_data_source("", run=_run_id(model))
                ranks = model.batch.ntasks
                if results.backend is not None:
                    results.latency_ms[lang] = np.concatenate([reader.get_tensor(f"latency_{r}") for r in range(ranks)])
                io = np.sum([reader.get_tensor(f"io_{r}") for r in range(ranks)], axis=0)
                results.io_bytes[lang] = (float(io[0]), float(io[1]))
                info = reader.run_info(_run_id(model), "")
                began = [w.began for w in info.members if w.began is not None]
                ended = [w.ended for w in info.members if w.ended is not None]
                if began and ended:
                    results.seconds[lang] = max(ended) - min(began)
            finally:
                reader.close()

    def _inference_results(self, results: Results, client: Client, server: Any, trainer: Any) -> None:
        """The learned curve (asked through run_model), the service's latencies, where the models ran."""
        from ..inference.stats import latency_summaries, loop_records

        t = np.linspace(0.0, max(max(tr.peak, default=1.0) for tr in results.traces.values()) * 1.1, 200)
        with Client(client.address) as asking:  # a run of its own: run_model reads its inputs in the caller's run
            asking.begin_run("simdask-demo.curve")
            asking.put_tensor("curve_in", t.astype(np.float32))
            asking.run_model(MODEL, inputs=["curve_in"], outputs=["curve_out"])
            results.curve = (t, self.settings.eps * t**4, asking.get_tensor("curve_out").astype(np.float64))
        client.put_tensor(STOP_KEY, np.array(1))
        results.training = trainer.result(timeout=_TIMEOUT_S)
        label = f"model:{MODEL}"
        for name, latency in latency_summaries(client.session, [label]).items():
            results.service[name] = (latency.p50, latency.p99, latency.count)
        history = results.training.get("history", [])
        kind = "TorchScript" if results.backend == "TORCH" else "ONNX"
        last = history[-1] if history else {}
        results.placements.append(
            f"{MODEL!r} ({kind}) trained on worker {results.training.get('worker')}: {len(history)} versions, "
            f"last fit error {last.get('error', float('nan')):.2%} on {last.get('points', 0):.0f} points"
        )
        for consumer, record in loop_records(client.session, server.consumers).items():
            for (model_label, device), count in record.served.items():
                where = "a GPU worker" if record.gpu else "a CPU worker"
                results.placements.append(
                    f"{model_label} served {count} times on {device} by loop {consumer} ({where} {record.worker})"
                )

    def _keep_up(self, address: str, dask: DaskCluster) -> None:
        """Wait for Ctrl-C with everything up."""
        self.say(
            f"\neverything stays up until Ctrl-C: Dask dashboard {self._link(dask)}, store {address} "
            f"(simdask.Client({address!r}) from your processes), inference service, run directory "
            f"{self.out / 'run'}"
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            self.say("\nCtrl-C: stopping everything, as asked")


def _diagnostics_from(archive: Path, trace: Trace) -> None:
    """The mean and peak temperature of every step the trace saw, from the run's zarr archive."""
    field_ = xr.open_zarr(archive).T.sel(step=trace.steps)
    stats = xr.Dataset({"mean": field_.mean(("y", "x")), "peak": field_.max(("y", "x"))}).compute(scheduler="threads")
    trace.mean, trace.peak = stats["mean"].values.tolist(), stats["peak"].values.tolist()


def _run_id(model: Model) -> str:
    """The run of the model's launch (set by ``Experiment.start``)."""
    if model.run_id is None:
        raise RuntimeError(f"{model.name} has not been launched")
    return model.run_id


def _what_ran(program: Program) -> str:
    return LANGUAGES[program.language] if program.path is not None else "Python stand-in"


def run_demo(settings: DemoSettings | None = None, out: TextIO | None = None) -> Results:
    """Run the demo (``simdask demo``), printing what it does to ``out`` (stdout by default); its results.

    Everything it started is stopped when it returns, when it fails and on
    Ctrl-C (which it raises again as :class:`KeyboardInterrupt`).
    """

    def say(text: str) -> None:
        print(text, file=out or sys.stdout, flush=True)

    return _Demo(settings or DemoSettings(), say).run()
