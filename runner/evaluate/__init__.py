"""Evaluate: generation and evaluation of a model on a run's tasks."""
