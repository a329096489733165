"""Studies over many runs: experiments, sweeps and their cells, budget curves, the posterior and adaptive choice, analysis, the report."""
