"""Data: sources, formatting, mixture allocation, the token cache and the offline sample suite."""
