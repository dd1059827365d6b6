"""A cluster store whose shards run on every node of its job (Slurm), each tagged with its node."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from experiment_helpers import squeue_left

import simdask
from simdask.experiment import Status
from simdask.experiment.jobs import JobScript
from simdask.experiment.launchers.slurm import SlurmLauncher
from simdask.experiment.scripts import shards_per_node, spread_cluster_lines
from simdask.locality import node_name, store_nodes


def test_three_nodes_job_script_starts_shards_on_each_and_joins_them(tmp_path):
    exp = simdask.Experiment("e", exp_path=tmp_path, launcher="slurm")
    store = exp.create_store(kind="cluster", shards=5, nodes=3, interface="ib0")
    body = spread_cluster_lines(SlurmLauncher(), sys.executable, store, "ib0", "store.exitcode", 60)
    text = SlurmLauncher().render(JobScript("store", "store", store.path, body, {}, store.batch))
    assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0
    assert "#SBATCH --nodes=3" in text
    assert "srun --nodes=3 --ntasks=3 --ntasks-per-node=1" in text  # one shard starter per node
    assert "--shards 2" in text and "--no-form" in text and "--host ib0" in text  # 5 shards over 3 nodes: 2 each
    assert 'shards/"$(hostname -s)"' in text and "store join --run-dir ." in text
    assert text.index("store join") > text.index("until [")  # joined once every node's shards are ready


def test_shards_per_node():
    assert [shards_per_node(s, n) for s, n in ((3, 1), (3, 3), (4, 3), (3, 2), (6, 2), (3, 8))] == [3, 1, 2, 2, 3, 1]


def test_only_a_cluster_store_spans_nodes(tmp_path):
    with pytest.raises(ValueError, match="nodes=2"):
        simdask.Experiment("e", exp_path=tmp_path, launcher="slurm").create_store(nodes=2)
    with pytest.raises(ValueError, match="nodes=2"):
        simdask.Experiment("l", exp_path=tmp_path, launcher="local").create_store(kind="cluster", nodes=2)


@pytest.mark.usefixtures("slurm")
def test_spread_cluster_store_on_slurm(tmp_path):
    """This machine's Slurm has one node: the job's one node starts all shards, then they are joined."""
    exp = simdask.Experiment("spread", exp_path=tmp_path / "exp", launcher="slurm")
    try:
        store = exp.create_store(kind="cluster", interface="lo")
        exp.start(store)
        assert exp.get_status(store) == [Status.RUNNING]
        with simdask.Client(store.address) as client:
            assert client.session.transport.is_cluster and len(client.session.transport.nodes()) == 3
            assert set(store_nodes(client).values()) == {node_name()}
            client.put_tensors({f"k{i}": np.full(4, i) for i in range(10)})
            assert client.get_tensor("k7")[0] == 7
        assert sorted(p.name for p in (store.path / "shards").iterdir()) == [node_name()]
    finally:
        exp.stop()
    assert exp.get_status(store) == [Status.CANCELLED]
    assert squeue_left() == []
