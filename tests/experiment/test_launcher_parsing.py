"""Scheduler output -> job states: the launchers' parsers on captured and documented output (captured/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simdask.errors import LaunchError
from simdask.experiment import Status
from simdask.experiment.launchers.local import local_state
from simdask.experiment.launchers.pbs import parse_qstat_full, parse_qstat_json, parse_qsub, pbs_state
from simdask.experiment.launchers.slurm import parse_sacct, parse_sbatch, parse_squeue, slurm_state

CAPTURED = Path(__file__).with_name("captured")


def _read(name: str) -> str:
    return (CAPTURED / name).read_text()


def test_sbatch_job_ids():
    assert parse_sbatch("28\n") == "28"
    assert parse_sbatch("28;cluster2\n") == "28"
    assert parse_sbatch("Submitted batch job 28\n") == "28"
    with pytest.raises(LaunchError, match="no job id"):
        parse_sbatch("sbatch: error: Batch job submission failed: Invalid partition name specified\n")


def test_squeue_states_captured_from_slurm_22():
    jobs = parse_squeue(_read("squeue_slurm22.txt"))
    states = {
        job_id: slurm_state(state, reason, None, start, end) for job_id, (state, reason, start, end) in jobs.items()
    }
    assert {k: v.status for k, v in states.items()} == {
        "23": Status.RUNNING,
        "24": Status.FAILED,
        "25": Status.CANCELLED,
        "26": Status.COMPLETED,
        "27": Status.QUEUED,
    }
    assert states["24"].reason == "FAILED (NonZeroExitCode)"
    assert states["26"].returncode == 0
    assert states["23"].started is not None and states["23"].ended is None  # end time "NONE" while running
    assert states["25"].ended is not None and (states["25"].ended - states["25"].started).seconds == 2


def test_slurm_exit_status_recorded_by_the_job_script_wins():
    assert slurm_state("FAILED", "NonZeroExitCode", 3).returncode == 3
    assert slurm_state("COMPLETING").status == Status.RUNNING  # still cleaning up: not gone yet
    assert slurm_state("SOME_FUTURE_STATE").status == Status.RUNNING
    gone = slurm_state(None)  # purged from slurmctld, no accounting, no exit status recorded
    assert gone.status == Status.FAILED and "without recording" in gone.reason
    assert slurm_state(None, "", 0).status == Status.COMPLETED
    assert slurm_state(None, "", 4).status == Status.FAILED


def test_sacct_documented_format():
    jobs = parse_sacct(_read("sacct_documented.txt"))
    assert jobs["1201"] == ("COMPLETED", 0)
    assert jobs["1202"] == ("FAILED", 3)
    assert jobs["1203"] == ("CANCELLED", -15)  # "CANCELLED by 1000", killed by signal 15
    states = {k: slurm_state(state, "", code).status for k, (state, code) in jobs.items()}
    assert states == {
        "1201": Status.COMPLETED,
        "1202": Status.FAILED,
        "1203": Status.CANCELLED,
        "1204": Status.FAILED,
        "1205": Status.FAILED,
        "1206": Status.FAILED,
    }


def test_qsub_job_ids():
    assert parse_qsub("4807.pbs01\n") == "4807.pbs01"
    assert parse_qsub("29\n") == "29"  # Slurm's wrapper prints sbatch's id
    with pytest.raises(LaunchError):
        parse_qsub("qsub: Unknown queue\n There was an error running the Slurm sbatch command.\n")


def test_qstat_full_pbs_professional():
    jobs = parse_qstat_full(_read("qstat_f_pbspro.txt"))
    assert list(jobs) == ["4807.pbs01", "4808.pbs01", "4809.pbs01", "4810.pbs01", "4811.pbs01"]
    queued = jobs["4807.pbs01"]
    assert queued["Resource_List.select"] == "2:ncpus=32:mpiprocs=32"
    assert queued["Variable_List"].endswith("PBS_O_SYSTEM=Linux,PBS_O_QUEUE=workq,PBS_O_HOST=login01.cluster")
    assert "/opt/pbs/bin," in queued["Variable_List"]  # a value wrapped at 80 columns is joined again
    assert queued["Submit_arguments"].endswith("/home/alice/coupled/sim/sim.sh")
    assert jobs["4811.pbs01"]["comment"].endswith("and terminated")
    states = {k: pbs_state(v) for k, v in jobs.items()}
    assert [s.status for s in states.values()] == [
        Status.QUEUED,
        Status.RUNNING,
        Status.COMPLETED,
        Status.FAILED,
        Status.CANCELLED,
    ]
    assert states["4810.pbs01"].returncode == 2
    assert states["4808.pbs01"].started is not None
    assert (states["4809.pbs01"].ended - states["4809.pbs01"].started).seconds == 79


def test_qstat_full_torque():
    jobs = parse_qstat_full(_read("qstat_f_torque.txt"))
    assert jobs["90211.torque01.cluster"]["submit_args"].endswith("/home/bob/coupled/sim/sim.sh")
    assert jobs["90211.torque01.cluster"]["Variable_List"].endswith("PBS_O_WORKDIR=/home/bob/coupled/sim")
    states = {k.split(".")[0]: pbs_state(v).status for k, v in jobs.items()}
    assert states == {"90211": Status.COMPLETED, "90212": Status.CANCELLED, "90213": Status.QUEUED}


def test_qstat_full_slurm_torque_wrapper():
    """Captured from Debian's slurm-wlm-torque: tab-indented, 'C' for any finished job, no exit status."""
    jobs = parse_qstat_full(_read("qstat_f_slurm_wrapper.txt"))
    assert set(jobs) == {"24", "25", "29"}
    assert jobs["29"]["Resource_List.walltime"] == "00:05:00"
    assert pbs_state(jobs["29"]).status == Status.RUNNING
    assert pbs_state(jobs["24"], returncode=3).status == Status.FAILED  # the job script recorded its exit status
    assert pbs_state(jobs["24"], returncode=0).status == Status.COMPLETED
    assert pbs_state(jobs["25"]).status == Status.CANCELLED  # killed before it could record one


def test_qstat_json_openpbs():
    jobs = parse_qstat_json(_read("qstat_xf_openpbs.json"))
    states = {k: pbs_state(v) for k, v in jobs.items()}
    assert {k: s.status for k, s in states.items()} == {
        "4808.pbs01": Status.RUNNING,
        "4809.pbs01": Status.COMPLETED,
        "4810.pbs01": Status.FAILED,
        "4811.pbs01": Status.CANCELLED,
        "4812.pbs01": Status.CANCELLED,
    }
    assert states["4810.pbs01"].returncode == 2 and states["4811.pbs01"].returncode == 271
    with pytest.raises(ValueError):
        parse_qstat_json("qstat: invalid option -- 'x'\nusage: qstat [-f] ...")
    assert parse_qstat_json('{"timestamp":1,"pbs_version":"2024.1.2","pbs_server":"gadi-pbs-01"}') == {}


def test_pbs_job_that_left_the_queue():
    assert pbs_state(None, 0).status == Status.COMPLETED
    assert pbs_state(None).status == Status.FAILED


def test_local_return_codes():
    assert local_state(None).status == Status.RUNNING
    assert local_state(-9).status == Status.CANCELLED
    failed = local_state(-11)  # SIGSEGV is a failure, not a cancellation
    assert failed.status == Status.FAILED and failed.reason == "killed by SIGSEGV"
