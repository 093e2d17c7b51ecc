"""Helpers shared by every lane of the suite: clients, factories, the stack process, request counters."""
