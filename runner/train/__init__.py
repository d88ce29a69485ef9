"""Train: trainer assembly, checkpoints, the TRL adapter, models."""
