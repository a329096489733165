"""The live progress line of a run: its funnel figures are the outcomes' shares of all samples."""
from funsearch.proposers.base import Completion, Usage
from funsearch.records import EvalResult, FailureKind
from funsearch.search.bookkeeping import Progress, SampleOutcome


def _sample(progress: Progress, sample_id: int) -> None:
    usage = Usage(prompt_tokens=10, completion_tokens=5, seconds=1.0, busy_seconds=1.0)
    progress.on_completion("small", Completion("def f(): pass", usage, "small", seed=sample_id),
                           SampleOutcome(sample_id, "def f(): pass", "h", None))


def test_the_progress_line_shows_valid_noop_and_duplicate_shares_of_all_samples():
    progress = Progress()
    assert "valid 0%  no-op 0%  dup 0%  best -" in progress.line()
    for sample_id in range(8):
        _sample(progress, sample_id)
    progress.on_evaluation("small", EvalResult(valid=True, score=-3.0), new_best=True)
    for _ in range(4):
        progress.on_evaluation("small", EvalResult(valid=False, score=None, failure=FailureKind.NOOP), False)
    progress.on_duplicate("small", parent=True)
    progress.on_duplicate("small")
    line = progress.line("1/8 samples")
    assert line.startswith("samples 8  valid 12%  no-op 50%  dup 25%  best -3  ")
    assert line.endswith("spent 1/8 samples")
