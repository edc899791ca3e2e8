"""Authentication: password hashing, access tokens, the schemes and their routes."""
