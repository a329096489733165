"""Markers a problem file uses: ``@funsearch.evolve``, ``@funsearch.run``, and its two exceptions.

Both return the decorated function unchanged (so the driver calls the evolved
function by its global name, and a candidate that redefines that name replaces
it), and tag it with an attribute the problem loader looks for.
"""
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)

EVOLVE_ATTR = "__funsearch_evolve__"
RUN_ATTR = "__funsearch_run__"


def evolve(fn: F) -> F:
    """Mark the function the LLM rewrites. Its body is the baseline program."""
    setattr(fn, EVOLVE_ATTR, True)
    return fn


def run(fn: F) -> F:
    """Mark the driver: runs the evolved function on one instance, returns a raw JSON-able solution."""
    setattr(fn, RUN_ATTR, True)
    return fn


class InvalidSolution(ValueError):
    """Raised by a problem's trusted ``score`` when a solution breaks the problem's rules."""


class BadOutput(ValueError):
    """Raised by a problem's driver (in the sandbox) when the evolved function returned something it cannot
    use: not numbers, not finite, not the right shape. The candidate fails as ``bad_output`` with this one-line
    message (any other exception is a ``runtime_error``). See ``funsearch.finite_numbers``."""
