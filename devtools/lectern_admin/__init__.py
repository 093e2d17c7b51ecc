"""Operator commands for Lectern: `python -m lectern_admin <command> ...` (see __main__.py)."""
