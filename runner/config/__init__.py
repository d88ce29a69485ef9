"""Config: what one run is (schemas, Hydra composition, validation, the task catalogue)."""
