"""The orchestrator, the only package that imports Ray: actors, the proposer pool, the loop, run sessions, tasks."""
from funsearch.orchestrator.session import RunSummary, run_search

__all__ = ["run_search", "RunSummary"]
