"""Accounts: the model and the operations on it, independent of HTTP."""
