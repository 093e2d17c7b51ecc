"""Accounts: users, unique emails, emailed one-time tokens."""
