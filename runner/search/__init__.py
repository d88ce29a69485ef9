"""mixft search: a budgeted search for the best mixture, through the sweep machinery (cli/search.py)."""
