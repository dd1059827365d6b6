"""Describing an experiment: entities, ensembles, run directories, job-script text, Dask options (nothing launched)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from experiment_helpers import needs_jobqueue

from simdask.experiment import BatchSettings, Experiment, detect_launcher, expand_params
from simdask.experiment.dask_cluster import import_jobqueue, jobqueue_options, local_options
from simdask.experiment.jobs import JobScript
from simdask.experiment.launchers import LocalLauncher, PBSLauncher, SlurmLauncher, SlurmStepLauncher, get_launcher
from simdask.experiment.scripts import colocated_lines, record_exit, store_command


def test_launcher_detection():
    nothing = lambda name: None  # noqa: E731
    assert detect_launcher({}, which=nothing) == "local"
    assert detect_launcher({"SLURM_JOB_ID": "7"}, which=nothing) == "slurm"
    assert detect_launcher({}, which=lambda name: "/usr/bin/sbatch" if name == "sbatch" else None) == "slurm"
    assert detect_launcher({}, which=lambda name: "/opt/pbs/bin/qsub" if name == "qsub" else None) == "pbs"
    assert isinstance(get_launcher("slurm", environ={"SLURM_JOB_ID": "7"}), SlurmStepLauncher)
    assert isinstance(get_launcher("slurm", environ={}), SlurmLauncher)
    with pytest.raises(ValueError, match="launcher must be one of"):
        Experiment("e", launcher="lsf")


def test_ensemble_strategies():
    params = {"nu": [0.1, 0.2, 0.3], "n": [8, 16, 32]}
    assert len(expand_params(params)) == 9
    assert expand_params(params, "step")[2] == {"nu": 0.3, "n": 32}
    drawn = expand_params(params, "random", n_models=4, seed=1)
    assert len(drawn) == 4 and len({tuple(d.items()) for d in drawn}) == 4
    assert drawn == expand_params(params, "random", n_models=4, seed=1)
    assert expand_params({"nu": 0.5}, replicas=3) == [{"nu": 0.5}] * 3
    with pytest.raises(ValueError, match="one length"):
        expand_params({"nu": [1, 2], "n": [1]}, "step")
    with pytest.raises(ValueError, match="params or replicas"):
        expand_params(None)


def test_ensemble_members_prefixes_and_wiring(tmp_path):
    exp = Experiment("e", exp_path=tmp_path)
    ens = exp.create_ensemble("ens", {"nu": [0.1, 0.2]}, exe=sys.executable, args=["sim.py"], params_as_args=["nu"])
    reader = exp.create_model("reader", sys.executable, ["read.py"])
    assert [m.name for m in ens] == ["ens_0", "ens_1"]
    assert ens[1].path == tmp_path / "ens" / "ens_1"
    assert ens[1].args == ("sim.py", "--nu=0.2")
    assert ens[0].key_env() == {"SIMDASK_KEY_PREFIX": "ens_0"}
    with pytest.raises(ValueError, match="enable_key_prefixing"):
        ens.register_incoming_entity(reader)
    reader.register_incoming_entity(ens)
    assert reader.key_env() == {"SIMDASK_KEY_PREFIXES_IN": "ens_0,ens_1"}
    with pytest.raises(ValueError, match="already has an entity named 'ens_1'"):
        exp.create_model("ens_1", "true")
    with pytest.raises(ValueError, match="does not have"):
        exp.create_ensemble("other", {"nu": [1]}, exe="true", params_as_args=["n"])


def test_store_descriptions(tmp_path):
    exp = Experiment("e", exp_path=tmp_path)
    sim = exp.create_model("sim", "true", nodes=2)
    with pytest.raises(ValueError, match="at least 3 shards"):
        exp.create_store(kind="cluster", shards=2)
    with pytest.raises(ValueError, match="needs model"):
        exp.create_store(kind="colocated")
    colocated = exp.create_store(kind="colocated", model=sim)
    assert colocated.name == "sim_store" and colocated.address.startswith("unix:///")
    with pytest.raises(ValueError, match="already has a co-located store"):
        exp.create_store(kind="colocated", model=sim)
    exp.create_store()
    with pytest.raises(ValueError, match="already has a store"):
        exp.create_store("second")
    with pytest.raises(ValueError, match="does not belong"):
        Experiment("other", exp_path=tmp_path).start(sim)


def test_generate_copies_links_and_configures(tmp_path):
    inputs = tmp_path / "inputs"
    (inputs / "mesh").mkdir(parents=True)
    (inputs / "mesh" / "grid.dat").write_text("grid")
    (inputs / "params.in").write_text("nu = ;nu;\nsteps = ;steps;\nkeep = ;unknown;\n")
    (inputs / "big.bin").write_bytes(b"\0" * 64)
    exp = Experiment("e", exp_path=tmp_path / "exp")
    ens = exp.create_ensemble("ens", {"nu": [0.5, 1.5], "steps": 10}, exe="true")
    ens.attach_generator_files(
        to_copy=[inputs / "mesh"], to_symlink=inputs / "big.bin", to_configure=[inputs / "params.in"]
    )
    exp.generate()
    run = tmp_path / "exp" / "ens" / "ens_1"
    assert (run / "params.in").read_text() == "nu = 1.5\nsteps = 10\nkeep = ;unknown;\n"
    assert (run / "mesh" / "grid.dat").read_text() == "grid"
    assert (run / "big.bin").is_symlink() and (run / "big.bin").resolve() == inputs / "big.bin"
    (run / "extra.txt").write_text("kept")
    exp.generate()
    assert (run / "extra.txt").exists()
    exp.generate(overwrite=True)
    assert not (run / "extra.txt").exists() and (run / "params.in").exists()
    with pytest.raises(FileNotFoundError):
        ens.attach_generator_files(to_copy=tmp_path / "missing")


def test_run_commands():
    mpi = BatchSettings(nodes=2, tasks_per_node=4)
    assert SlurmLauncher().launch_command(["./sim"], mpi)[:3] == ["srun", "--nodes=2", "--ntasks=8"]
    assert SlurmLauncher().launch_command(["./sim"], BatchSettings()) == ["./sim"]
    assert SlurmStepLauncher().launch_command(["./sim"], BatchSettings())[0] == "srun"  # a step on the allocation
    assert PBSLauncher().launch_command(["./sim"], mpi) == ["mpiexec", "-n", "8", "./sim"]
    assert LocalLauncher().launch_command(["./sim"], mpi, "mpirun", ["--oversubscribe"]) == [
        "mpirun",
        "-n",
        "8",
        "--oversubscribe",
        "./sim",
    ]
    with pytest.raises(ValueError, match="need a run command"):
        LocalLauncher().launch_command(["./sim"], mpi, None)


def _script(**batch):
    return JobScript(
        "sim",
        "model",
        __import__("pathlib").Path("/scratch/exp/sim"),
        record_exit(["srun ./sim"], "sim.exitcode"),
        {"SIMDASK_ADDRESS": "10.0.0.5:6780"},
        BatchSettings(**batch),
    )


def test_slurm_job_script_text():
    text = SlurmLauncher().render(
        _script(
            nodes=2,
            tasks_per_node=32,
            walltime="01:30:00",
            queue="gpu",
            account="proj42",
            directives=("--gres=gpu:4", "--exclusive"),
        )
    )
    lines = text.splitlines()
    assert lines[0] == "#!/bin/bash"
    for directive in (
        "--job-name=sim",
        "--output=/scratch/exp/sim/sim.out",
        "--error=/scratch/exp/sim/sim.err",
        "--nodes=2",
        "--ntasks-per-node=32",
        "--time=01:30:00",
        "--partition=gpu",
        "--account=proj42",
        "--gres=gpu:4",
        "--exclusive",
    ):
        assert f"#SBATCH {directive}" in lines
    assert "export SIMDASK_ADDRESS=10.0.0.5:6780" in lines
    assert lines[-3:] == ["rc=$?", "echo $rc > sim.exitcode", "exit $rc"]


def test_pbs_job_script_text():
    launcher = PBSLauncher()
    job = _script(
        nodes=2,
        tasks_per_node=32,
        cpus_per_task=2,
        walltime="01:30:00",
        queue="workq",
        account="proj42",
        directives=("-l place=scatter",),
    )
    lines = launcher.render(job).splitlines()
    assert lines[1:9] == [
        "#PBS -N sim",
        "#PBS -l select=2:ncpus=64:mpiprocs=32",
        "#PBS -l walltime=01:30:00",
        "#PBS -j oe",
        "#PBS -o /scratch/exp/sim/sim.pbs.log",
        "#PBS -q workq",
        "#PBS -A proj42",
        "#PBS -l place=scatter",
    ]
    # PBS copies a job's output back at its end only: the script writes its own, live
    assert "exec >/scratch/exp/sim/sim.out 2>/scratch/exp/sim/sim.err" in lines
    # the same on qsub's command line, for front-ends that do not read #PBS lines and keep only the last -l
    assert launcher.qsub_args(job)[:4] == [
        "-l",
        "select=2:ncpus=64:mpiprocs=32,walltime=01:30:00,place=scatter",
        "-N",
        "sim",
    ]


@pytest.mark.parametrize(
    "launcher",
    [LocalLauncher(), SlurmLauncher(), SlurmStepLauncher(), PBSLauncher()],
    ids=lambda launcher: type(launcher).__name__,
)
def test_job_scripts_are_valid_bash(tmp_path, launcher):
    exp = Experiment("e", exp_path=tmp_path)
    sim = exp.create_model("sim", sys.executable, ["sim.py", "a b"], tasks_per_node=2, run_command="mpirun")
    store = exp.create_store(kind="colocated", model=sim)
    before, after = colocated_lines(launcher, sys.executable, store, sim, "sim.exitcode", 60)
    shared = exp.create_store()
    body = [*before, *record_exit([store_command(launcher, sys.executable, shared, None)], "x.exitcode", after=after)]
    text = launcher.render(JobScript("sim", "model", tmp_path / "sim", body, {"A": "it's"}))
    assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0
    assert '--host "$(hostname)"' in text  # the store binds to the name of the node it runs on


def test_a_store_without_password_only_when_asked(tmp_path):
    for password, flag in ((None, False), ("given-s3cret", False), ("", True)):
        store = Experiment("e", exp_path=tmp_path).create_store(password=password)
        command = store_command(LocalLauncher(), sys.executable, store, "127.0.0.1")
        assert ("--no-password" in command) is flag and "s3cret" not in command


@needs_jobqueue
def test_importing_dask_jobqueue_leaves_ctrl_c_alone():
    handler = signal.getsignal(signal.SIGINT)
    import_jobqueue()
    assert signal.getsignal(signal.SIGINT) is handler


@needs_jobqueue
def test_dask_jobqueue_options_and_job_scripts(tmp_path):
    exp = Experiment("e", exp_path=tmp_path, launcher="local")
    dask = exp.create_dask_cluster(
        workers=2,
        gpus_per_worker=2,
        cores=4,
        memory="16GiB",
        walltime="02:00:00",
        queue="gpu",
        account="proj42",
        interface="ib0",
        dashboard_address="10.0.0.1:8787",
        worker_extra_args=["--nthreads", "4"],
    )
    env = {"SIMDASK_ADDRESS": "10.0.0.5:6780"}
    files = {"SIMDASK_PASSWORD": tmp_path / "store" / "password"}
    slurm = jobqueue_options(dask, "slurm", env, files)
    assert slurm["job_script_prologue"] == [
        "export SIMDASK_ADDRESS=10.0.0.5:6780",
        f'SIMDASK_PASSWORD="$(< {tmp_path}/store/password)" || '
        f"{{ echo simdask: cannot read SIMDASK_PASSWORD from {tmp_path}/store/password >&2; exit 1; }}",
        "export SIMDASK_PASSWORD",
    ]
    assert slurm["job_extra_directives"] == ["--gres=gpu:2"]
    assert slurm["worker_extra_args"] == [
        "--lifetime",
        "6600s",
        "--lifetime-stagger",
        "300s",
        "--resources",
        "GPU=2",
        "--dashboard-address",
        "10.0.0.1:0",
        "--nthreads",
        "4",
    ]
    assert slurm["scheduler_options"] == {"dashboard_address": "10.0.0.1:8787"}
    assert slurm["log_directory"] == str(tmp_path / "dask" / "logs")
    jobqueue_only = ("scheduler_options", "interface")
    jobqueue = import_jobqueue()
    text = jobqueue.slurm.SLURMJob(
        scheduler="tcp://10.0.0.1:8786", name="w", **{k: v for k, v in slurm.items() if k not in jobqueue_only}
    ).job_script()
    for line in (
        "#SBATCH --gres=gpu:2",
        "#SBATCH -t 02:00:00",
        "#SBATCH -p gpu",
        "#SBATCH -A proj42",
        "export SIMDASK_ADDRESS=10.0.0.5:6780",
    ):
        assert line in text
    assert "--resources GPU=2" in text and "--lifetime 6600s --lifetime-stagger 300s" in text
    pbs = jobqueue_options(dask, "pbs", env, files)
    assert pbs["resource_spec"] == "select=1:ncpus=4:ngpus=2:mem=16GB"
    text = jobqueue.pbs.PBSJob(
        scheduler="tcp://10.0.0.1:8786", name="w", **{k: v for k, v in pbs.items() if k not in jobqueue_only}
    ).job_script()
    assert "#PBS -l select=1:ncpus=4:ngpus=2:mem=16GB" in text and "#PBS -l walltime=02:00:00" in text
    local = local_options(dask, env)
    assert local["resources"] == {"GPU": 2} and local["env"] == env and local["threads_per_worker"] == 4
    assert local["interface"] == "ib0" and "host" not in local
