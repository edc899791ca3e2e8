"""Pure ASGI middleware; authentication itself is a dependency, not a middleware."""
