"""The HTTP routes: health, logins, sessions, API keys, accounts."""
