"""Checks: one module per check, registered in `registry.py`."""
