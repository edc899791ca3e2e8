"""The app's resources, made once at start-up and found by their type.

In the manner of svcs, without a container per request: one holder per app (on
`app.state.resources`), and dependencies typed once, where `request.app.state.x`
would need its type re-declared at every use.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from fastapi import Depends, Request

T = TypeVar("T")


class Resources:
    """Resources by type: added while the app starts, read by every request."""

    def __init__(self) -> None:
        self._by_type: dict[type[Any], object] = {}

    def add(self, *resources: object) -> None:
        for item in resources:
            self._by_type[type(item)] = item

    def get(self, kind: type[T]) -> T:
        try:
            return cast("T", self._by_type[kind])
        except KeyError:
            raise LookupError(
                f"no {kind.__name__} among the app's resources: is its lifespan on?"
            ) from None


def resource(request: Request, kind: type[T]) -> T:
    """The resource of type `kind` of the app serving `request`."""
    resources: Resources = request.app.state.resources
    return resources.get(kind)


def provide(kind: type[T]) -> Any:
    """A dependency on the app's `kind`: `Annotated[Kind, provide(Kind)]`."""

    def get(request: Request) -> T:
        return resource(request, kind)

    return Depends(get)
