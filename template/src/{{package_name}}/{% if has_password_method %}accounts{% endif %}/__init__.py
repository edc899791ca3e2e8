"""The account lifecycle by email: verifying an address, resetting a password,
changing the address. Independent of HTTP: the routes are `routes/account.py`."""
