"""Learner side: the library, the course player, playback tokens and downloads.

Every decision to open paid content goes through lectern.learning.access,
which checks the entitlement at that moment (no cache) and audits it.
"""
