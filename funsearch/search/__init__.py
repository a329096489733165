"""The search's state without Ray or I/O: the island program database, the share of samples per size, the run's bookkeeping (pure, seeded)."""
