"""A hand-written fourth problem, in a temporary directory: check, eval and a short scripted run."""
import json
import textwrap

from funsearch.config import make_config
from funsearch.orchestrator import run_search
from funsearch.problem.check import check_problem
from funsearch.problem.evaluate_file import evaluate_candidate_file
from funsearch.store.run_store import RunStore

PROBLEM = textwrap.dedent('''
    """Ordering: put the numbers of each instance in an order; score = sum of i * x_i (higher is better)."""
    import numpy as np

    import funsearch

    SPLITS = ("train", "test")
    TRAIN_SPLIT = "train"


    def load_split(name):
        rng = np.random.default_rng(0 if name == "train" else 1)
        return [{"name": f"{name}{i}", "xs": rng.integers(0, 100, 12).tolist()} for i in range(5)]


    @funsearch.evolve
    def key(x: int) -> float:
        """Sort key of a number; numbers are placed in ascending key order."""
        return 0.0


    @funsearch.run
    def solve(instance):
        return sorted(range(len(instance["xs"])), key=lambda i: key(instance["xs"][i]))


    def score(instance, solution):
        xs = instance["xs"]
        if sorted(solution) != list(range(len(xs))):
            raise funsearch.InvalidSolution("not a permutation")
        return float(sum(pos * xs[i] for pos, i in enumerate(solution)))
''')


def test_fourth_problem_check_eval_and_run(tmp_path):
    problem = tmp_path / "ordering.py"
    problem.write_text(PROBLEM)
    assert check_problem(problem) == []

    candidate = tmp_path / "ascending.py"
    candidate.write_text("def key(x):\n    return float(x)\n")
    baseline = evaluate_candidate_file(problem, tmp_path / "ascending.py")
    assert baseline.valid and len(baseline.per_instance) == 5

    script = tmp_path / "completions.json"
    script.write_text(json.dumps(["    return float(x)\n", "    return -float(x)\n", "    return x +\n"]))
    cfg = make_config(problem=str(problem), backend="scripted", scripted_file=str(script), samples=3,
                      islands=1, seed=0, cascade_probe=0)  # -float(x) is much worse: the cascade would stop it
    summary = run_search(cfg, tmp_path / "run", echo=lambda line: None)
    store = RunStore(tmp_path / "run")
    classes = [s["failure"] for s in store.samples()]
    store.close()
    assert classes == [None, None, "syntax_error"]
    assert summary.best_score == baseline.score  # ascending order is optimal for sum(i * x_i)
    assert "return float(x)" in summary.best_source
