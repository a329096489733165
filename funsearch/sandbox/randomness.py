"""The random state every candidate instance starts from (imported by the sandbox child and by the unsandboxed
reference evaluation, so both draw the same numbers)."""
import random
import sys

RANDOM_SEED = 0  # the state `random` and numpy's global generator start every instance from


def reset_random_state() -> None:
    """Seed `random` and, when imported, numpy's global generator with RANDOM_SEED. Called before each instance
    by the sandbox child and by the unsandboxed reference (`evaluate_in_process`), so a candidate that draws random
    numbers gets the same score on every evaluation, in every process, whichever instances ran before: scores
    reproduce, replay matches, and the cascade's probe agrees with the full evaluation. Without it each child drew
    afresh and selection kept lucky draws (a TSP winner that shuffles with `np.random.randn` scored 4.89 % once and
    5.2-5.9 % on re-evaluation). `np.random.default_rng()` without a seed still draws from the OS."""
    random.seed(RANDOM_SEED)
    if "numpy" in sys.modules:  # numpy.random is a lazy submodule; the sandbox server imports it before any fork
        try:
            import numpy.random as numpy_random
        except ImportError:
            return
        numpy_random.seed(RANDOM_SEED)
