"""Lectern's shared package: configuration, models, domain services and adapters.

Kept import-light on purpose: importing `lectern` loads nothing heavy, each
function imports only the modules its routes need (cold start stays small).
"""
