"""What every method shares: the caller, errors, permissions, challenges, password
checks and their limits, and the revocation list."""
