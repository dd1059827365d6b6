"""The end-to-end demo (``simdask demo`` / ``make demo``): what simdask does, on the embedded store.

It starts a store, writes the fields of a small simulated time loop as a
SmartRedis-style client would, reads them back in every way the client
offers, opens the run as a lazy xarray Dataset on a Dask cluster, and has a
stored model answer ``run_model``; it prints what it did and how fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

import numpy as np

from .client import Client, Dataset
from .store import Store, StoreKind, find_server_binary

__all__ = ["run_demo"]


def _rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / 1e6:,.0f} MB/s" if seconds > 0 else "-"


def _timed(action: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def _diffuse(field: np.ndarray, nu: float = 0.2) -> np.ndarray:
    """One explicit step of 2-D diffusion with periodic boundaries."""
    lap = np.roll(field, 1, 0) + np.roll(field, -1, 0) + np.roll(field, 1, 1) + np.roll(field, -1, 1) - 4 * field
    return field + nu * lap


def _analysis_and_inference(
    address: str, client: Client, field: np.ndarray, steps: int, say: Callable[[str], None]
) -> None:
    """Steps 7-8: the run as a lazy xarray Dataset on a Dask cluster, and a model answering run_model."""
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    from .bridge import open_dataset

    cluster_options = dict(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0")
    with LocalCluster(**cluster_options) as cluster, DaskClient(cluster) as dask_client:
        say(f"\n7. the run as a lazy xarray Dataset, computed on a Dask cluster ({dask_client.dashboard_link})")
        run = open_dataset("temperature.step{step:d}", client)
        say(
            f"  open_dataset('temperature.step{{step:d}}'): {dict(run.sizes)}, one dask chunk per key, "
            f"units {run.temperature.attrs.get('units')!r}"
        )
        heat = run.temperature.sum(("y", "x")).compute()
        say(f"  total heat per step (conserved by diffusion): {np.round(heat.values, 6).tolist()}")

        say("\n8. a model in the store, run as the simulation would (run_model), served by Dask")
        try:
            import torch
        except ImportError:
            say("  skipped: torch is not installed (pip install 'simdask[torch]')")
            return
        from .inference import InferenceServer

        stencil = torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular", bias=False)
        with torch.no_grad():
            stencil.weight.copy_(torch.tensor([[[[0, 0.2, 0], [0.2, 0.2, 0.2], [0, 0.2, 0]]]]))
        client.set_model("diffusion_step", torch.jit.script(stencil.eval()), "TORCH")
        client.put_tensor("state", field[None, None].astype(np.float32))
        with InferenceServer(address, dask_client):
            seconds = []
            for _ in range(10):  # the first call on each serving loop loads the model
                start = time.perf_counter()
                client.run_model("diffusion_step", inputs=["state"], outputs=["next_state"])
                seconds.append(time.perf_counter() - start)
        predicted = client.get_tensor("next_state")[0, 0]
        error = float(np.abs(predicted - _diffuse(field)).max())
        say(
            f"  run_model('diffusion_step') on a {field.shape[0]}x{field.shape[1]} field: first call "
            f"{seconds[0] * 1e3:.0f} ms (loads the model), then {np.median(seconds[2:]) * 1e3:.1f} ms (median); "
            f"max |model - numpy step| = {error:.1e}"
        )


def run_demo(kind: StoreKind = "standalone", *, steps: int = 5, size: int = 512, out: TextIO | None = None) -> None:
    """Run the demo against a fresh store of ``kind`` and print a report to ``out``.

    Steps 1-6 use the store and the client alone; step 7 starts a local Dask
    cluster for the xarray view of the run and step 8 a model answering
    ``run_model`` on it (skipped without torch).
    """

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    say(f"simdask demo: store server {find_server_binary()}")
    store, seconds = _timed(lambda: Store(kind).start())
    assert isinstance(store, Store)
    try:
        say(f"  started a {kind} store at {store.address} in {seconds * 1e3:.0f} ms")
        client = Client(store.address)

        say(f"\n1. a {size}x{size} float64 field through {steps} time steps (put_tensor per step, dims and attrs kept)")
        field = np.zeros((size, size))
        field[size // 4 : size // 2, size // 4 : size // 2] = 1.0
        for step in range(steps):
            field = _diffuse(field)
            start = time.perf_counter()
            client.put_tensor(f"temperature.step{step}", field, dims=("y", "x"), attrs={"units": "K", "step": step})
            seconds = time.perf_counter() - start
            say(
                f"  step {step}: put_tensor 'temperature.step{step}' {field.nbytes / 2**20:.1f} MiB "
                f"in {seconds * 1e3:.2f} ms ({_rate(field.nbytes, seconds)})"
            )
        last = f"temperature.step{steps - 1}"
        back, seconds = _timed(lambda: client.get_tensor(last))
        assert isinstance(back, np.ndarray) and np.array_equal(back, field)
        info = client.tensor_info(last)
        say(
            f"  get_tensor '{last}': {back.dtype} {back.shape}, identical, in {seconds * 1e3:.2f} ms "
            f"({_rate(back.nbytes, seconds)}); dims {info.dims}, attrs {dict(info.attrs)}"
        )
        buffer = np.empty_like(field)
        _, seconds = _timed(lambda: client.unpack_tensor(last, buffer))
        say(
            f"  unpack_tensor into a preallocated buffer: identical={np.array_equal(buffer, field)}, "
            f"{seconds * 1e3:.2f} ms ({_rate(field.nbytes, seconds)})"
        )

        say("\n2. a Fortran-ordered array (what a Fortran code writes without copying)")
        fortran = np.asfortranarray(np.arange(5 * 3 * 2, dtype=np.float64).reshape(5, 3, 2))
        client.put_tensor("fortran_field", fortran)
        back = client.get_tensor("fortran_field")
        say(
            f"  stored order {client.tensor_info('fortran_field').order}, read back shape {back.shape}, "
            f"F-contiguous={back.flags.f_contiguous}, a[4,2,1]={back[4, 2, 1]:.0f} (expected {fortran[4, 2, 1]:.0f})"
        )

        say("\n3. a 64 MiB tensor, stored in 4 MiB chunks")
        big = np.random.default_rng(0).random(8 * 2**20)
        _, put_s = _timed(lambda: client.put_tensor("big", big))
        back, get_s = _timed(lambda: client.get_tensor("big"))
        assert isinstance(back, np.ndarray) and np.array_equal(back, big)
        target = np.empty_like(big)
        _, unpack_s = _timed(lambda: client.unpack_tensor("big", target))
        say(
            f"  put {_rate(big.nbytes, put_s)}, get {_rate(big.nbytes, get_s)}, unpack {_rate(big.nbytes, unpack_s)}; "
            f"identical={np.array_equal(target, big)}"
        )

        say("\n4. many tensors in one round trip (put_tensors / get_tensors)")
        ranks = {f"rank{r}.u": np.full((64, 64), r, dtype=np.float32) for r in range(16)}
        _, seconds = _timed(lambda: client.put_tensors(ranks))
        arrays, seconds_get = _timed(lambda: client.get_tensors(list(ranks)))
        assert isinstance(arrays, list)
        say(
            f"  16 tensors put in {seconds * 1e3:.2f} ms, got in {seconds_get * 1e3:.2f} ms; "
            f"rank 7 mean {arrays[7].mean():.0f}"
        )

        say("\n5. a dataset with metadata, appended to an aggregation list")
        for step in range(3):
            ds = Dataset(f"sample_{step}")
            ds.add_tensor("inputs", np.random.default_rng(step).random((32, 8)).astype(np.float32))
            ds.add_meta_scalar("time", 0.1 * step)
            ds.add_meta_string("solver", "diffusion-2d")
            client.put_dataset(ds)
            client.append_to_list("training_samples", ds)
        samples = client.get_datasets_from_list("training_samples")
        say(
            f"  list 'training_samples' holds {client.get_list_length('training_samples')} datasets; "
            f"times {[float(s.get_meta_scalars('time')[0]) for s in samples]}, "
            f"solver {samples[0].get_meta_strings('solver')[0]!r}"
        )

        say("\n6. errors name what went wrong")
        try:
            client.get_tensor("no_such_field")
        except KeyError as exc:
            say(f"  {type(exc).__name__}: {exc}")
        try:
            client.put_tensor("text", np.array(["a", "b"]))
        except TypeError as exc:
            say(f"  {type(exc).__name__}: {exc}")

        _analysis_and_inference(store.address, client, field, steps, say)
        client.close()
    finally:
        store.stop()
    say("\nstore stopped; simdask demo done")
