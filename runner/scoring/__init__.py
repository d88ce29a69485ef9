"""Scoring: parse one model output, score it, aggregate; a registry keyed by task kind."""
