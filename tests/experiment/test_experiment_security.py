"""An experiment's secrets and scripts, for real under the local launcher: the store's password off every
script, log, command line and summary; Dask only over TLS; hostile settings refused or kept literal."""

from __future__ import annotations

import gc
import stat
import subprocess

import numpy as np
import psutil
import pytest
from distributed import Client as DaskClient
from experiment_helpers import app, descendants

import simdask
from simdask.errors import AuthenticationError
from simdask.experiment import BatchSettings, Experiment, Status
from simdask.experiment.jobs import JobScript
from simdask.experiment.launchers import LocalLauncher, PBSLauncher, SlurmLauncher


@pytest.fixture
def exp(tmp_path, monkeypatch):
    monkeypatch.delenv("SIMDASK_PASSWORD", raising=False)
    experiment = Experiment("sec", exp_path=tmp_path / "exp", launcher="local")
    yield experiment
    experiment.stop()


def assert_nowhere(password: str, exp: Experiment, pids: list[int]) -> None:
    """In no file of the experiment but the two 0600 ones that hold it, in no argv, not in the summary."""
    holders = {exp.exp_path / "store" / "password", exp.exp_path / "store" / "server.conf"}
    for path in exp.exp_path.rglob("*"):
        if path.is_file() and not path.is_socket():
            if path in holders:
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            else:
                assert password not in path.read_text(errors="replace"), path
    for pid in pids:
        try:
            assert password not in " ".join(psutil.Process(pid).cmdline()), pid
        except psutil.NoSuchProcess:
            pass
    assert password not in str(exp.summary()) and password not in exp._repr_html_()


@pytest.mark.parametrize("where", ["loopback", "off loopback", "given"])
def test_password_reaches_jobs_through_a_file_only(exp, where, request):
    if where == "loopback":
        store = exp.create_store()  # no password given: the store makes one
    elif where == "off loopback":
        store = exp.create_store(interface=request.getfixturevalue("non_loopback_ipv4"))
    else:
        store = exp.create_store(password="given-s3cret-0123456789")
    sim = exp.create_model("sim", *app("exchange", "y"))
    dask = exp.create_dask_cluster(workers=1, dashboard_address="127.0.0.1:0")
    before = descendants()
    exp.start(store, dask)
    password = store.password
    assert password and (where == "given" or len(password) >= 40)
    with pytest.raises(AuthenticationError):  # a client without it: another account
        simdask.Client(store.address, password="")
    with simdask.Client(store.address, password=password) as client:
        client.put_tensor("x", np.arange(4.0))
        exp.start(sim)
        pids = descendants(besides=before)
        assert exp.wait(sim, timeout=60) == {"sim": Status.COMPLETED}  # the model authenticated
        np.testing.assert_array_equal(client.get_tensor("y"), 2 * np.arange(4.0))
        workers = dask.get_client(timeout=60)

        def store_sum():
            return float(simdask.Client().get_tensor("x").sum())  # the worker's nanny passed the password

        assert workers.submit(store_sum).result(timeout=60) == 6.0
    script = (sim.path / "sim.sh").read_text()
    assert f'SIMDASK_PASSWORD="$(< {store.path}/password)"' in script
    assert_nowhere(password, exp, pids)
    for folder in (exp.exp_path, store.path, sim.path, dask.path):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE((sim.path / "sim.sh").stat().st_mode) == 0o700


def test_dask_cluster_refuses_plain_clients(exp):
    dask = exp.create_dask_cluster(workers=1, dashboard_address="127.0.0.1:0")
    exp.start(dask)
    client = dask.get_client(timeout=60)
    address = dask.cluster.scheduler_address
    assert address.startswith("tls://127.0.0.1:")
    assert all(w.startswith("tls://127.0.0.1:") for w in client.scheduler_info()["workers"])
    assert client.submit(sum, [1, 2]).result(timeout=30) == 3  # the experiment's own client works
    with pytest.raises((OSError, TimeoutError)):
        DaskClient(address.replace("tls://", "tcp://"), timeout=3)  # plain TCP: no TLS handshake, no entry
    # A Client that failed in __init__ is closed by its __del__; if the garbage collector runs that inside
    # the next Client's loop start, distributed deadlocks on its loop lock: collect it here instead.
    gc.collect()
    with pytest.raises((OSError, TimeoutError, TypeError, ValueError)):
        DaskClient(address, timeout=3)  # TLS without the cluster's certificate
    gc.collect()
    with DaskClient(address, security=dask.security, timeout=30) as again:  # the certificate is the key
        assert again.submit(sum, [3, 4]).result(timeout=30) == 7


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("walltime", "01:00:00\ntouch /tmp/simdask-injected", "walltime must be"),
        ("queue", "debug\ntouch /tmp/simdask-injected", "queue must be"),
        ("account", "proj$(touch /tmp/simdask-injected)", "account must be"),
        ("directives", ["--exclusive\ntouch /tmp/simdask-injected"], "one scheduler option on one line"),
        ("directives", ["touch /tmp/simdask-injected"], "starting with '-'"),
        ("env", {"A;B": "1"}, "'A;B' is not an environment variable name"),
        ("env", {"A": "nul\0"}, "NUL"),
    ],
)
def test_hostile_model_settings_are_refused(tmp_path, setting, value, message):
    exp = Experiment("e", exp_path=tmp_path, launcher="local")
    with pytest.raises(ValueError, match=message):
        exp.create_model("sim", "true", **{setting: value})


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("walltime", "1:00:00;touch /tmp/simdask-injected", "walltime must be"),
        ("queue", "gpu\n#SBATCH --uid=0", "queue must be"),
        ("interface", "ib0 $(touch /tmp/simdask-injected)", "interface must be"),
        ("job_extra_directives", ["--gres=gpu:1\ntouch /tmp/simdask-injected"], "job_extra_directives"),
    ],
)
def test_hostile_dask_and_store_settings_are_refused(tmp_path, setting, value, message):
    exp = Experiment("e", exp_path=tmp_path, launcher="local")
    with pytest.raises(ValueError, match=message):
        exp.create_dask_cluster(**{setting: value})
    if setting in ("walltime", "queue"):
        with pytest.raises(ValueError, match=message):
            exp.create_store(**{setting: value})
    with pytest.raises(ValueError, match="password"):
        exp.create_store(password='x"\nrequirepass ""')


def test_shell_metacharacters_in_values_stay_literal(exp, tmp_path):
    marker = tmp_path / "injected"
    hostile = f"$(touch {marker}); `touch {marker}` ' \" \n;touch {marker}"
    echo = exp.create_model("echo", "printf", ["%s|", hostile], env={"HOSTILE": hostile})
    exp.start(echo, block=True, timeout=30)
    assert (echo.path / "echo.out").read_text() == hostile + "|"
    assert not marker.exists()
    text = (echo.path / "echo.sh").read_text()
    assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0


@pytest.mark.parametrize("launcher", [SlurmLauncher(), PBSLauncher()], ids=["slurm", "pbs"])
def test_batch_directives_name_the_setting(tmp_path, launcher):
    spaced = JobScript("sim", "model", tmp_path / "a b", ["true"], {}, BatchSettings())
    with pytest.raises(ValueError, match="run directory of sim"):
        launcher.render(spaced)
    if isinstance(launcher, PBSLauncher):
        unbalanced = JobScript("sim", "model", tmp_path, ["true"], {}, BatchSettings(directives=("-l 'x",)))
        with pytest.raises(ValueError, match='directive "-l \'x"'):
            launcher.render(unbalanced)
    with pytest.raises(ValueError, match="not an environment variable name"):
        LocalLauncher().render(JobScript("sim", "model", tmp_path, ["true"], {"X=1;touch y;A": "1"}))


def test_a_second_experiment_does_not_take_a_running_store_s_folder(exp, tmp_path):
    store = exp.create_store()
    exp.start(store)
    other = Experiment("sec", exp_path=tmp_path / "exp", launcher="local")
    other.create_store()
    with pytest.raises(simdask.StoreStartError, match=f"a store already runs in {store.path}"):
        other.start()
    with simdask.Client(store.address) as client:  # the first store kept its folder and its state
        client.put_tensor("u", np.ones(1))
    assert simdask.Store.from_run_dir(store.path).address == store.address
