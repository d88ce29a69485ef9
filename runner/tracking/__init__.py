"""Tracking: the W&B run lifecycle and offline sync."""
