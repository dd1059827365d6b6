"""The demo's surrogate: the cooling term R(T) = EPS * T**4, learned online on a Dask worker and served by run_model.

The simulations compute R themselves and send ``(T, R)`` samples (datasets
appended to their run's list ``samples``). :func:`train_online`, a
long-running Dask task, reads the samples as they come, fits the model and
stores each new version with ``set_model``; the serving loops reload it, and
the simulations' ``run_model`` calls get the newer answer (the analysis
decides when they may use it, from the model error each step reports).

The model is a TorchScript network (:mod:`simdask.demo.torch_surrogate`)
where torch is installed, else an ONNX polynomial fitted by least squares
(onnx and onnxruntime), else none: the simulations then compute the term
themselves and call no model. Importing this module imports neither.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..client import Client
from ..errors import RunNotFoundError

__all__ = [
    "MODEL",
    "STOP_KEY",
    "Backend",
    "choose_backend",
    "initial_model",
    "preload",
    "train_online",
]

#: The stored model the simulations call.
MODEL = "cooling"
#: Its existence stops the trainer.
STOP_KEY = "demo_training_stop"
_POINTS_PER_SAMPLE = 256
_MAX_POINTS = 8192
_DEGREE = 4
#: Least seconds between two fits (a fit takes a core for a moment: the simulations need theirs).
_FIT_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Backend:
    """How the surrogate is made and served: ``"TORCH"``, ``"ONNX"`` or ``None`` (no model)."""

    name: str | None
    description: str


def choose_backend() -> Backend:
    """The best surrogate this Python can make (the Dask workers run the same one)."""
    if importlib.util.find_spec("torch") is not None:
        return Backend("TORCH", "a TorchScript network (1-16-1, tanh) fitted with L-BFGS by torch on a Dask worker")
    if importlib.util.find_spec("onnx") is not None and importlib.util.find_spec("onnxruntime") is not None:
        return Backend(
            "ONNX",
            "torch is not installed: a degree-4 polynomial fitted by least squares on a Dask worker, served as "
            "ONNX by onnxruntime",
        )
    return Backend(
        None,
        "neither torch nor onnx + onnxruntime is installed: no model; the simulations compute the cooling term "
        "themselves (pip install 'simdask[torch]' or 'simdask[onnx]')",
    )


def preload(backend: str) -> str:
    """Import the backend's runtime (run on every worker before the simulations start); its version."""
    module = importlib.import_module("torch" if backend == "TORCH" else "onnxruntime")
    if backend == "TORCH":
        module.set_num_threads(1)
    return str(module.__version__)


class _Polynomial:
    """R(T) as a polynomial in T / t_scale, fitted by least squares; stored as an ONNX graph (Horner's scheme)."""

    def __init__(self) -> None:
        self.t_scale = 2.0
        self.coefficients: np.ndarray = np.zeros(_DEGREE + 1)

    def fit(self, t: np.ndarray, r: np.ndarray) -> float:
        x = t.astype(np.float64) / self.t_scale
        powers = np.vander(x, _DEGREE + 1, increasing=True)
        self.coefficients = np.linalg.lstsq(powers, r.astype(np.float64), rcond=None)[0]
        return _relative_error(powers @ self.coefficients, r)

    def blob(self) -> bytes:
        from onnx import TensorProto, helper

        nodes = [helper.make_node("Mul", ["T", "inv_scale"], ["x"])]
        acc = f"c{_DEGREE}"
        for k in range(_DEGREE - 1, -1, -1):
            nodes.append(helper.make_node("Mul", [acc, "x"], [f"m{k}"]))
            nodes.append(helper.make_node("Add", [f"m{k}", f"c{k}"], ["R" if k == 0 else f"a{k}"]))
            acc = f"a{k}"
        constants = [helper.make_tensor("inv_scale", TensorProto.FLOAT, [], [1.0 / self.t_scale])]
        constants += [
            helper.make_tensor(f"c{k}", TensorProto.FLOAT, [], [float(c)]) for k, c in enumerate(self.coefficients)
        ]
        graph = helper.make_graph(
            nodes,
            "cooling",
            [helper.make_tensor_value_info("T", TensorProto.FLOAT, None)],
            [helper.make_tensor_value_info("R", TensorProto.FLOAT, None)],
            constants,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        return bytes(model.SerializeToString())


def _relative_error(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Root-mean-square error relative to the truth's root mean square."""
    scale = float(np.sqrt(np.mean(np.square(truth, dtype=np.float64))))
    return float(np.sqrt(np.mean(np.square(predicted - truth, dtype=np.float64))) / max(scale, 1e-12))


def _fitter(backend: str, eps: float) -> Any:
    if backend == "TORCH":
        from .torch_surrogate import Fitter

        return Fitter(eps)
    return _Polynomial()


def initial_model(backend: str, eps: float) -> Any:
    """The model stored before any sample exists (untrained), so that run_model answers from the first step."""
    return _fitter(backend, eps).blob()


def train_online(
    address: str,
    run_ids: Sequence[str],
    backend: str,
    eps: float,
    *,
    timeout: float = 600.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit the surrogate to the samples of ``run_ids`` as they arrive, storing each version (a Dask task).

    Ends when :data:`STOP_KEY` exists, when every run has ended and its
    samples are used, or after ``timeout`` seconds. Returns the worker, the
    backend and the history of fits (time, version, fit error, points).
    """
    try:
        from distributed import get_worker, secede

        secede()  # a long-running task: the worker keeps its thread for other work
        worker = str(get_worker().address)
    except (ImportError, ValueError):
        worker = "this process"
    client = Client(address)
    readers: dict[str, Client] = {}
    seen = dict.fromkeys(run_ids, 0)
    temperatures: list[np.ndarray] = []
    coolings: list[np.ndarray] = []
    fitter = _fitter(backend, eps)
    rng = np.random.default_rng(seed)
    history: list[dict[str, float]] = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout and not client.key_exists(STOP_KEY):
            fresh, ended = 0, 0
            for run_id in run_ids:
                reader = readers.get(run_id) or _reader(address, run_id)
                if reader is None:
                    continue
                readers[run_id] = reader
                length = reader.get_list_length("samples")
                if length > seen[run_id]:
                    for sample in reader.get_dataset_list_range("samples", seen[run_id], length - 1):
                        t, r = sample.get_tensor("T"), sample.get_tensor("cooling")
                        pick = _pick(t, rng)
                        temperatures.append(t[pick])
                        coolings.append(r[pick])
                        fresh += len(pick)
                    seen[run_id] = length
                elif reader.run_info(run_id, "").state != "running":
                    ended += 1
            if fresh:
                began = time.monotonic()
                t_all = np.concatenate(temperatures)[-_MAX_POINTS:]
                r_all = np.concatenate(coolings)[-_MAX_POINTS:]
                error = fitter.fit(t_all, r_all)
                version = client.set_model(MODEL, fitter.blob(), backend)
                history.append(
                    {"time": time.monotonic() - started, "version": version, "error": error, "points": t_all.size}
                )
                time.sleep(max(0.0, _FIT_INTERVAL_S - (time.monotonic() - began)))
            elif ended == len(run_ids):
                break
            else:
                time.sleep(0.2)
    finally:
        for reader in readers.values():
            reader.close()
        client.close()
    return {"worker": worker, "backend": backend, "history": history}


def _pick(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of the points of one sample to learn from: its hottest eighth (rare, and where R is large), and
    random others."""
    if t.size <= _POINTS_PER_SAMPLE:
        return np.arange(t.size)
    order = np.argsort(t)
    hot = _POINTS_PER_SAMPLE // 8
    return np.concatenate([order[-hot:], rng.choice(order[:-hot], size=_POINTS_PER_SAMPLE - hot, replace=False)])


def _reader(address: str, run_id: str) -> Client | None:
    """A client reading run ``run_id`` of the unprefixed group, or None while that run has not begun."""
    reader = Client(address)
    try:
        reader.set_data_source("", run=run_id)
    except RunNotFoundError:
        reader.close()
        return None
    return reader
