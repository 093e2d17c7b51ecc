"""Catalog domain: reading the published outline, and shaping it for the API."""
