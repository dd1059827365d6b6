"""What a SmartSim driver did, on simdask: a store that serves models, a model, a simulation, the analysis.

SmartSim started an Orchestrator (Redis with RedisAI) and launched the
simulation with SSDB and SSKEYOUT set; here simdask.Store(serve=1) is the
store and runs the models itself, and the simulation is launched with the
same variables. The analysis is SmartRedis code too: it waits for the
aggregation list, reads every step's dataset, and turns the last one into an
xarray DataArray with DatasetConverter.

Run: python examples/smartredis/python/driver.py [--steps 5]
"""

import argparse
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from smartredis import Client, ConfigOptions, DatasetConverter

import simdask

HERE = Path(__file__).resolve().parent


class FieldStats(torch.nn.Module):
    """The minimum and maximum of a field."""

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        return torch.stack([field.min(), field.max()])


def main(steps: int) -> None:
    with simdask.Store("standalone", serve=1) as store:  # was: exp.create_database(...) with RedisAI
        os.environ["SSDB"] = store.address  # SmartSim set SSDB for every entity it launched
        driver = Client(None, logger_name="driver")
        model = io.BytesIO()
        torch.jit.save(torch.jit.script(FieldStats()), model)
        driver.set_model("field_stats", model.getvalue(), "TORCH", "CPU")

        member = {**os.environ, "SSKEYOUT": "sim_0", "SSKEYIN": "sim_0"}  # what SmartSim set for ensemble member sim_0
        simulation = [sys.executable, str(HERE / "simulation.py"), "--steps", str(steps)]
        subprocess.run(simulation, env=member, check=True, timeout=300)

        os.environ["SSKEYIN_analysis"] = "sim_0"  # the analysis reads sim_0's keys (a suffixed variable)
        os.environ["SSDB_analysis"] = store.address
        analysis = Client(ConfigOptions.create_from_environment("analysis"), logger_name="analysis")
        if not analysis.poll_list_length("steps", steps, 100, 50):
            raise SystemExit(f"the simulation did not append {steps} steps")
        for ds in analysis.get_datasets_from_list("steps"):
            step, high = int(ds.get_meta_scalars("step")[0]), float(ds.get_meta_scalars("max")[0])
            assert np.isclose(ds.get_tensor("field").max(), high)
            print(f"step {step}: max {high:.3f} {ds.get_meta_strings('units')[0]}")

        last = analysis.get_dataset(f"step_{steps - 1}")
        last.add_meta_string("dim_y", "y")
        last.add_meta_string("dim_x", "x")
        DatasetConverter.add_metadata_for_xarray(last, "field", ["dim_y", "dim_x"], attr_names="units")
        field = DatasetConverter.transform_to_xarray(last)["field"]
        print(f"last step as xarray: dims {field.dims}, units {field.attrs['units']}, shape {field.shape}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=5)
    main(parser.parse_args().steps)
