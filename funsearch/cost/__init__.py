"""What samples cost: hardware, roofline, calibration, budgets and ledger, capacity planning (pure but for files)."""
