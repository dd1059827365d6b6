"""Train a surrogate while the simulation runs, and let the simulation use each new version.

Three parts share one store:

- the simulation (a separate process: this file run with --simulate ADDRESS)
  steps a damped oscillator; every step it stores a training sample (a
  dataset with the state before and after the step, appended to the list
  "samples") and asks the current surrogate for its prediction of the next
  state with run_model, as a Fortran or C code would with sd_run_model;
- a training task on a Dask worker reads the samples as they arrive
  (simdask.training.StoreDataset), trains a small MLP, and publishes each
  improved version with set_model;
- an InferenceServer on the same Dask cluster answers run_model; it picks
  up every new model version by itself.

The simulation prints how far the surrogate's prediction is from the true
next state: the error falls as the training publishes new versions.

Run: python examples/python/03_online_training.py
"""

import subprocess
import sys

import numpy as np
import torch
from distributed import Client as DaskClient
from distributed import LocalCluster

import simdask
from simdask.training import StoreDataset

STEPS = 40
DT = 0.1


def step(state: np.ndarray) -> np.ndarray:
    """The "physics": a damped oscillator, x'' = -x - 0.1 x' (one explicit step per row)."""
    x, v = state[:, 0], state[:, 1]
    return np.stack([x + DT * v, v + DT * (-x - 0.1 * v)], axis=1).astype(np.float32)


def simulate(address: str) -> None:
    client = simdask.Client(address)
    rng = np.random.default_rng(0)
    for n in range(STEPS):
        state = rng.uniform(-1, 1, size=(32, 2)).astype(np.float32)
        following = step(state)
        sample = simdask.Dataset(f"sample_{n}")
        sample.add_tensor("state", state)
        sample.add_tensor("next", following)
        client.put_dataset(sample)
        client.append_to_list("samples", sample)
        if client.model_exists("surrogate"):
            client.put_tensor("state", state)
            client.run_model("surrogate", inputs=["state"], outputs=["predicted"])
            error = float(np.abs(client.get_tensor("predicted") - following).mean())
            version = client.get_model_spec("surrogate").version
            if n % 10 == 0 or n == STEPS - 1:
                print(f"step {n:2d}: surrogate v{version} mean error {error:.4f}", flush=True)
        client.poll_tensor("go_on", 20, 5)  # pace the run a little (a real solver takes its time)
    client.put_tensor(simdask.END_OF_RUN, np.array(STEPS))


def train(address: str) -> int:
    """Runs on a Dask worker: learn next-state from state, publish every 8 batches."""
    client = simdask.Client(address)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 2))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
    published = 0
    samples = StoreDataset("samples", ("state", "next"), address, timeout=60)
    for batch, (state, following) in enumerate(samples):
        for _ in range(20):
            optimiser.zero_grad()
            loss = torch.nn.functional.mse_loss(model(state), following)
            loss.backward()
            optimiser.step()
        if batch % 8 == 0:
            client.set_model("surrogate", torch.jit.script(model.eval()), "TORCH")
            published += 1
            model.train()
    return published


def main() -> None:
    with (
        simdask.Store() as store,
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address="127.0.0.1:0", host="127.0.0.1") as cluster,
        DaskClient(cluster) as dask_client,
    ):
        with simdask.InferenceServer(store.address, dask_client):
            training = dask_client.submit(train, store.address, pure=False)
            subprocess.run([sys.executable, __file__, "--simulate", store.address], check=True)
            print(f"training published {training.result()} model versions while the simulation ran")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--simulate":
        simulate(sys.argv[2])
    else:
        main()
