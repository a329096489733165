"""The search without Ray or I/O: the island database, the share of samples per size, run bookkeeping (seeded)."""
