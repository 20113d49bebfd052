"""Data generators (run from the project root: python -m scripts.<name>)."""
