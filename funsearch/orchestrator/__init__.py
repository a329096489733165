"""The orchestrator: the only package that imports Ray. Actors in actors.py, the search loop in loop.py."""
from funsearch.orchestrator.session import RunSummary, run_search

__all__ = ["run_search", "RunSummary"]
