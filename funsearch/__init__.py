"""funsearch: FunSearch-style program search with sandboxed evaluation.

This top-level module is deliberately tiny: problem files do ``import funsearch``
for the ``evolve``/``run`` markers, and they are imported inside sandbox
children too, so nothing heavy (Ray, pydantic, backends) may be imported here.
"""
from funsearch.problem.markers import BadOutput, InvalidSolution, evolve, run
from funsearch.problem.outputs import finite_numbers

__version__ = "0.1.0"
__all__ = ["evolve", "run", "InvalidSolution", "BadOutput", "finite_numbers", "__version__"]
