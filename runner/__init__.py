"""mixft's library: one folder per stage of the pipeline; imports run one way (see pyproject's import-linter contract)."""
