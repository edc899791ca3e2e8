"""Accounts: model, schemas, service and routes."""
