"""Compare: pair runs with their baselines and the base model; statistics, views, plots, publishing."""
