"""A real two-node Ray cluster on this machine: proposers land on the 'GPU' node, evaluators on the CPU node."""
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster

from funsearch.config import make_config
from funsearch.orchestrator import run_search
from funsearch.store.run_store import RunStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def two_nodes():
    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 2, "resources": {"proposer_node": 4}, "include_dashboard": False})
    worker = cluster.add_node(num_cpus=2, resources={"evaluator_node": 4})
    cluster.wait_for_nodes()
    yield cluster, worker
    ray.shutdown()
    cluster.shutdown()


def test_actors_land_on_their_nodes_and_the_run_completes(two_nodes, tmp_path):
    cluster, worker = two_nodes
    cfg = make_config(
        problem=str(ROOT / "problems" / "bin_packing.py"), backend="scripted",
        scripted_file=str(ROOT / "tests" / "data" / "bin_packing_completions.json"), samples=6, islands=2,
        evaluators=2, address=cluster.address, proposer_resources={"proposer_node": 1},
        evaluator_resources={"evaluator_node": 1})
    summary = run_search(cfg, tmp_path / "run", echo=lambda line: None)
    nodes = {n["NodeID"]: n["Resources"] for n in ray.nodes() if n["Alive"]}
    store = RunStore(tmp_path / "run")
    placement = store.meta("placement")
    samples = store.count("samples")
    store.close()
    assert summary.stop_reason == "samples" and samples == 6
    assert placement["proposers"] and all("proposer_node" in nodes[n] for n in placement["proposers"])
    assert len(placement["evaluators"]) == 2
    assert all(n == worker.node_id and "evaluator_node" in nodes[n] for n in placement["evaluators"])
