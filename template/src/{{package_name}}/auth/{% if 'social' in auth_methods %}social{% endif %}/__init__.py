"""Social login: the service as an OAuth2 / OpenID Connect client of a provider.

A sign-in with a provider ends like every other login, in the service's own token
pair; the provider's tokens are used once, here, and never leave the server.
"""
