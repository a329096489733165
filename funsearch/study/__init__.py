"""Studies over many runs: experiments, sweeps, budget curves, the posterior and adaptive choice, analysis, report."""
