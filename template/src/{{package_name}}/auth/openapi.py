"""OpenAPI's view of the credential schemes, at no cost per request.

FastAPI lists a security scheme on a route when the scheme object is one of the
route's dependencies, and then solves it on every request, whatever it costs: with
four schemes, about a third of what authentication costs per request. So
`current_user` is itself a scheme object, listed as the first enabled scheme
(`schemes.py`), and checks the credentials itself; the document lists every other
scheme wherever FastAPI listed the first, with the route's scopes for OAuth2
(Swagger UI's Authorize asks for them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.security import OAuth2
from fastapi.security.base import SecurityBase


def list_schemes(app: FastAPI, schemes: Sequence[SecurityBase]) -> None:
    """Make `app.openapi()` list all `schemes` wherever it lists the first."""
    generate = app.openapi
    first, others = schemes[0].scheme_name, schemes[1:]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            components = document.setdefault("components", {})
            listed = components.setdefault("securitySchemes", {})
            for scheme in others:
                listed[scheme.scheme_name] = jsonable_encoder(
                    scheme.model, by_alias=True, exclude_none=True
                )
            for operation in _operations(document):
                for requirement in list(operation.get("security", [])):
                    if first in requirement:
                        scopes = requirement[first]
                        operation["security"].extend(
                            {s.scheme_name: scopes if isinstance(s, OAuth2) else []}
                            for s in others
                        )
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return [
        operation
        for path in document.get("paths", {}).values()
        for method, operation in path.items()
        if method in methods
    ]
