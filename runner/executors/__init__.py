"""Executors: where runs execute (this host's devices now; SLURM next)."""
