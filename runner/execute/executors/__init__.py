"""Executors: where a sweep's runs execute, behind one interface."""
