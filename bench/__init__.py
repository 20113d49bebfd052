"""Benchmarks (run from the project root: python -m bench.<name>)."""
