"""`GET /.well-known/jwks.json`: the public keys that verify our access tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from .dependencies import TokensDep

router = APIRouter(tags=["auth"])


@router.get("/.well-known/jwks.json")
async def jwks(tokens: TokensDep, response: Response) -> dict[str, Any]:
    """The JSON Web Key Set of the keys that sign access tokens (RFC 7517)."""
    response.headers["Cache-Control"] = "public, max-age=300"
    keys = tokens.keyring.verifiers.values()
    return {"keys": [key.public_jwk for key in keys if key.public_jwk is not None]}
