"""Plan: which runs a sweep holds (sweep files, axes, grid, filters, cost); pure, writes nothing."""
