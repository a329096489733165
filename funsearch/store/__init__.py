"""The run store, one SQLite file per run: the only package that runs SQL."""
