"""The credential schemes a request can carry, one module each."""
