"""The model and script methods of :class:`simdask.Client` (SmartRedis's names and meaning).

Models and scripts are stored in the store; ``run_model``/``run_script`` send
a run request through the language-neutral protocol (``docs/protocol.md``,
"Run requests") and wait for an inference service
(:class:`simdask.InferenceServer`, ``simdask serve``, a store started with
``serve=N``) to answer; with none running they fail at once, saying so.
Any client language does the same, so a C or Fortran simulation runs the
models a notebook stored.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from ..errors import ModelTimeoutError, StoreTimeoutError
from ..protocol import KeyPrefixes, Session
from ..protocol.keys import check_name
from ..protocol.models import ModelSpec, check_device, delete_stored, read_blob, stored_exists, write_stored
from ..protocol.requests import REPLY_GRACE_S, RunRequest, live_loops, new_reply_key, run_request, run_timeout
from .polling import poll
from .serialize import serialize_model

__all__ = ["ModelMethods"]


def _names(value: str | Sequence[str] | None, default: Sequence[str]) -> list[str]:
    if value is None:
        return list(default)
    return [value] if isinstance(value, str) else list(value)


class ModelMethods:
    """Mixin of :class:`~simdask.Client`: store, fetch and run models and scripts."""

    _session: Session
    _prefixes: KeyPrefixes
    _use_model_prefix: bool = False

    # -- naming ------------------------------------------------------------------

    def use_model_ensemble_prefix(self, use_prefix: bool) -> None:
        """Whether model and script names get the ensemble prefix (default False)."""
        self._use_model_prefix = bool(use_prefix)

    def _model_name(self, name: str, *, write: bool = False) -> str:
        check_name(name, "model")
        if not self._use_model_prefix:
            return name
        prefix = self._prefixes.put_prefix if write else self._prefixes.source
        return f"{prefix}.{name}" if prefix else name

    # -- models ------------------------------------------------------------------

    def set_model(
        self,
        name: str,
        model: Any,
        backend: str,
        device: str = "CPU",
        batch_size: int = 0,
        min_batch_size: int = 0,
        min_batch_timeout: int = 0,
        tag: str = "",
        inputs: Sequence[str] | None = None,
        outputs: Sequence[str] | None = None,
    ) -> int:
        """Store a model under ``name``; returns its new version.

        Parameters
        ----------
        model
            TorchScript bytes, a ``torch.jit.ScriptModule``/``ScriptFunction``,
            ONNX bytes or an ``onnx.ModelProto``. ``torch.export`` programs are
            refused with a :class:`~simdask.errors.ModelError` (loading one can
            run arbitrary code): script or trace the model, or export it to ONNX.
        backend
            ``"TORCH"`` or ``"ONNX"``.
        device
            ``"CPU"``, ``"GPU"`` or ``"GPU:n"``: where serving loops run it.
        batch_size, min_batch_size, min_batch_timeout
            Dynamic batching: requests are joined along their first dimension
            up to ``batch_size`` rows (0: no batching); a batch waits up to
            ``min_batch_timeout`` ms for ``min_batch_size`` rows.
        tag, inputs, outputs
            Free-form tag; names of the model's inputs and outputs (informative).
        """
        for label, value in (
            ("batch_size", batch_size),
            ("min_batch_size", min_batch_size),
            ("min_batch_timeout", min_batch_timeout),
        ):
            if int(value) < 0:
                raise ValueError(f"{label} must be >= 0, got {value}")
        if batch_size and min_batch_size > batch_size:
            raise ValueError(f"min_batch_size ({min_batch_size}) exceeds batch_size ({batch_size})")
        blob, backend_name, fmt = serialize_model(model, backend)
        stored_name = self._model_name(name, write=True)
        spec = ModelSpec(
            kind="model",
            name=stored_name,
            backend=backend_name,
            format=fmt,
            device=check_device(device),
            batch_size=int(batch_size),
            min_batch_size=int(min_batch_size),
            min_batch_timeout=int(min_batch_timeout),
            tag=str(tag),
            inputs=tuple(inputs or ()),
            outputs=tuple(outputs or ()),
        )
        return write_stored(self._session, "model", stored_name, blob, spec)

    def set_model_from_file(
        self, name: str, model_file: str | Path, backend: str, device: str = "CPU", **options: Any
    ) -> int:
        """:meth:`set_model` with the model's bytes read from ``model_file``."""
        path = Path(model_file)
        if not path.is_file():
            raise FileNotFoundError(f"model file {path} does not exist")
        return self.set_model(name, path.read_bytes(), backend, device, **options)

    def get_model(self, name: str) -> bytes:
        """The stored bytes of model ``name``."""
        return read_blob(self._session, "model", self._model_name(name))[1]

    def get_model_spec(self, name: str) -> ModelSpec:
        """The stored settings of model ``name`` (backend, device, batching, version)."""
        return read_blob(self._session, "model", self._model_name(name))[0]

    def delete_model(self, name: str) -> None:
        """Delete model ``name``; deleting a missing model is an error."""
        delete_stored(self._session, "model", self._model_name(name))

    def model_exists(self, name: str) -> bool:
        """Whether a model or a script named ``name`` exists."""
        return stored_exists(self._session, self._model_name(name))

    def poll_model(self, name: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """Check for model (or script) ``name`` up to ``num_tries`` times, ``poll_frequency_ms`` apart."""
        return poll(self._session, lambda: self.model_exists(name), poll_frequency_ms, num_tries)

    # -- scripts -----------------------------------------------------------------

    def set_script(self, name: str, script: str, device: str = "CPU") -> int:
        """Store TorchScript source under ``name``; returns its new version."""
        if not isinstance(script, str) or not script.strip():
            raise ValueError(f"script {name!r} must be non-empty TorchScript source text")
        stored_name = self._model_name(name, write=True)
        spec = ModelSpec(
            kind="script", name=stored_name, backend="TORCH", format="torchscript-source", device=check_device(device)
        )
        return write_stored(self._session, "script", stored_name, script.encode(), spec)

    def set_script_from_file(self, name: str, file: str | Path, device: str = "CPU") -> int:
        """:meth:`set_script` with the source read from ``file``."""
        return self.set_script(name, Path(file).read_text(), device)

    def set_function(self, name: str, function: Callable[..., Any], device: str = "CPU") -> int:
        """Store a Python function written in TorchScript's subset as script ``name``.

        Run it with ``run_script(name, function.__name__, ...)``.
        """
        try:
            source = textwrap.dedent(inspect.getsource(function))
        except (OSError, TypeError) as exc:
            raise ValueError(f"the source of {function!r} is not available: {exc}") from None
        return self.set_script(name, source, device)

    def get_script(self, name: str) -> str:
        """The stored source of script ``name``."""
        return read_blob(self._session, "script", self._model_name(name))[1].decode()

    def delete_script(self, name: str) -> None:
        """Delete script ``name``; deleting a missing script is an error."""
        delete_stored(self._session, "script", self._model_name(name))

    # -- running -----------------------------------------------------------------

    def run_model(
        self,
        name: str,
        inputs: str | Sequence[str] | None = None,
        outputs: str | Sequence[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        """Run model ``name`` on stored tensors ``inputs``, storing its results as ``outputs``.

        Inputs are read with the read prefix, outputs written with the write
        prefix; both default to ``[name]``. Blocks until an inference service
        answers, at most ``timeout`` seconds (``None``: the client's
        ``run_timeout``), even when the store itself stops answering.

        Raises
        ------
        ModelError
            The service reported a failure (unknown model, wrong inputs, an
            exception inside the model, a backend not installed), or no
            serving loop is running (at once: the message says what to start,
            see :meth:`serving_loops`).
        ModelTimeoutError
            No answer in time.
        """
        self._run("model", name, _names(inputs, [name]), _names(outputs, [name]), timeout)

    def run_script(
        self,
        name: str,
        fn_name: str,
        inputs: str | Sequence[str],
        outputs: str | Sequence[str],
        *,
        timeout: float | None = None,
    ) -> None:
        """Run function ``fn_name`` of script ``name`` on stored tensors (see :meth:`run_model`)."""
        check_name(fn_name, "function")
        self._run("script", name, _names(inputs, []), _names(outputs, []), timeout, fn_name)

    def serving_loops(self) -> list[str]:
        """The serving loops alive now (their names); none: ``run_model`` fails at once, saying what to start."""
        return live_loops(self._session)

    def _run(
        self,
        kind: Literal["model", "script"],
        name: str,
        inputs: list[str],
        outputs: list[str],
        timeout: float | None,
        function: str = "",
    ) -> None:
        """Send a run request and wait for its answer, all within its timeout (the keys' runs included)."""
        wait = run_timeout(self._session, timeout)
        with self._session.limit(wait + REPLY_GRACE_S):  # naming the keys may look up runs (docs/protocol.md)
            try:
                request = RunRequest(
                    kind,
                    self._model_name(name),
                    tuple(self._prefixes.tensor(n) for n in inputs),
                    tuple(self._prefixes.tensor(n, write=True) for n in outputs),
                    new_reply_key(),
                    function=function,
                )
            except StoreTimeoutError as exc:
                raise ModelTimeoutError(f"{kind} {name!r}: no answer within {wait:g} s ({exc})") from None
            run_request(self._session, request, wait)
