"""funsearch: FunSearch-style program search with sandboxed evaluation.

This top-level module is deliberately tiny: problem files do ``import funsearch``
for the ``evolve``/``run`` markers, and they are imported inside sandbox
children too, so nothing heavy (Ray, pydantic, backends) may be imported here.
"""
from funsearch.problem.markers import InvalidSolution, evolve, run

__version__ = "0.1.0"
__all__ = ["evolve", "run", "InvalidSolution", "__version__"]
