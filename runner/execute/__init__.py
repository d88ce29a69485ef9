"""Execute: the only code that knows processes (scheduler, run entry, executors, launch specs)."""
