"""Redis as the token store: what every replica of the service shares."""
