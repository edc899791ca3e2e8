"""OpenAPI's view of the credential schemes, at no cost per request.

FastAPI lists a security scheme on a route when the scheme object is one of the
route's dependencies, and then solves it on every request, whatever it costs: with
four schemes, about a third of what authentication costs per request. So
`current_user` is itself a scheme object, listed as the first enabled scheme
(`schemes.py`), and checks the credentials itself; the document lists every other
scheme wherever FastAPI listed the first, with the route's scopes for OAuth2
(Swagger UI's Authorize asks for them). Operations that FastAPI cannot see take a
credential (logout reads the access token itself) are `stated` their schemes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.security import OAuth2
from fastapi.security.base import SecurityBase


def list_schemes(
    app: FastAPI,
    schemes: Sequence[SecurityBase],
    stated: Mapping[tuple[str, str], Sequence[SecurityBase]] | None = None,
) -> None:
    """Make `app.openapi()` list all `schemes` wherever it lists the first, and
    the `stated` schemes on each (path, method) operation named there."""
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
            operations = _operations(document)
            for operation in operations.values():
                for requirement in list(operation.get("security", [])):
                    if first in requirement:
                        scopes = requirement[first]
                        operation["security"].extend(
                            {s.scheme_name: scopes if isinstance(s, OAuth2) else []}
                            for s in others
                        )
            for key, own in (stated or {}).items():
                operations[key]["security"] = [{s.scheme_name: []} for s in own]
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each operation of the document, by path and lower-case method."""
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return {
        (path, method): operation
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in methods
    }
