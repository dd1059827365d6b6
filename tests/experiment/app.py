"""The application the experiment tests launch: `python app.py ACTION [ARGS]`, run by launchers as a model.

exchange NAME   wait for tensor "x", put NAME = 2 * x + rank (rank: SLURM_PROCID/PMI_RANK, else 0)
roundtrip NAME  put NAME{rank}, read it back, print the store address (a co-located store)
gather NAME     for each prefix in SIMDASK_KEY_PREFIXES_IN, wait for its "y"; put NAME = their sum
param FILE      put "nu" read from a configured input file (`nu = <value>`)
infer MODEL     put x = [1, 2, 3, 4] (float32), run MODEL on it into y (a store that serves models itself)
smartsim        print SmartSim's variables (SSDB SR_DB_TYPE SSKEYOUT SSKEYIN) as NAME=value lines
fail            write to stderr and exit with status 3
sleep SECONDS   sleep (to be stopped or cancelled)
"""

import os
import sys
import time

import numpy as np


def rank() -> int:
    for name in ("SLURM_PROCID", "PMI_RANK", "OMPI_COMM_WORLD_RANK"):
        if name in os.environ:
            return int(os.environ[name])
    return 0


def main(action: str, *args: str) -> None:
    if action == "fail":
        print("app: the solver diverged at step 7", file=sys.stderr)
        sys.exit(3)
    if action == "sleep":
        time.sleep(float(args[0]))
        return
    if action == "smartsim":
        for name in ("SSDB", "SR_DB_TYPE", "SSKEYOUT", "SSKEYIN"):
            print(f"{name}={os.environ.get(name, '')}")
        return
    import simdask

    client = simdask.Client()
    if action == "exchange":
        if not client.poll_tensor("x", 50, 1200):
            sys.exit("app: no tensor x after 60 s")
        client.put_tensor(f"{args[0]}{rank() or ''}", 2 * client.get_tensor("x") + rank())
    elif action == "roundtrip":
        key = f"{args[0]}{rank()}"
        client.put_tensor(key, np.full(3, rank(), dtype=np.int64))
        assert (client.get_tensor(key) == rank()).all()
        print(f"rank {rank()} on {os.environ['SIMDASK_ADDRESS']}: ok")
    elif action == "gather":
        total = 0.0
        for prefix in os.environ["SIMDASK_KEY_PREFIXES_IN"].split(","):
            client.set_data_source(prefix)
            if not client.poll_tensor("y", 50, 1200):
                sys.exit(f"app: no tensor {prefix}.y after 60 s")
            total = total + client.get_tensor("y")
        client.put_tensor(args[0], total)
    elif action == "infer":
        client.put_tensor("x", np.arange(1, 5, dtype=np.float32))
        client.run_model(args[0], ["x"], ["y"], timeout=60)
    elif action == "param":
        text = open(args[0]).read()
        client.put_tensor("nu", np.array(float(text.split("=")[1])))
    else:
        sys.exit(f"app: unknown action {action!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
