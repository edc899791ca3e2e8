"""The access-token lifecycle: signing keys, tokens, refresh families, sessions."""
