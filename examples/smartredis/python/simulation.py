"""A SmartSim "model" written against SmartRedis: runs unchanged on simdask with `import smartredis`.

Each step it refills ONE field buffer, puts it as tensor "field", runs the
driver's model on it (run_model), puts a dataset of the step (the field and
the model's answer as metadata) and appends it to the aggregation list
"steps". The store and the key prefix come from the environment, as SmartSim
launches a model: SSDB, SSKEYOUT, SSKEYIN.

Run by driver.py; by hand: SSDB=<address> SSKEYOUT=sim_0 SSKEYIN=sim_0 python simulation.py --steps 5
"""

import argparse

import numpy as np
from smartredis import Client, Dataset, LLInfo


def main(steps: int) -> None:
    client = Client(None, logger_name="simulation")
    client.poll_model("field_stats", 100, 100)  # the driver stores the model before it launches us
    field = np.empty((16, 32))  # one buffer for the whole run: add_tensor copies it
    x = np.linspace(0.0, 1.0, field.shape[1])
    for step in range(steps):
        field[:] = np.exp(-0.5 * step) * np.sin(np.pi * x)[None, :]
        client.put_tensor("field", field)
        client.run_model("field_stats", inputs=["field"], outputs=["stats"])
        low, high = client.get_tensor("stats").tolist()
        ds = Dataset(f"step_{step}")
        ds.add_tensor("field", field)
        ds.add_meta_scalar("step", step)
        ds.add_meta_scalar("max", high)
        ds.add_meta_string("units", "K")
        client.put_dataset(ds)
        client.append_to_list("steps", ds)
        client.log_data(LLInfo, f"step {step}: min {low:.3f} max {high:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=5)
    main(parser.parse_args().steps)
