"""Proposer backends: each a small class behind the `Proposer` protocol in base.py."""
