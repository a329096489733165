"""What samples and evaluations cost: hardware profiles, the roofline model, calibration, budgets and the ledger, capacity planning (pure but for reading profile and calibration files)."""
