"""Store: the only code that writes or reads the store's files (run directories, claims, status, the sweep index)."""
