"""Offline data for mixft: deterministic synthetic sample rows for every task."""
