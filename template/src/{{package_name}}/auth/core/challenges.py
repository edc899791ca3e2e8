"""`WWW-Authenticate` challenges: how each credential scheme asks for credentials.

Every 401 challenges for each enabled scheme, one header each, the error named on
the scheme that failed (RFC 9110 §11.6.1, RFC 6750 §3). Basic is challenged only
when the request carried Basic credentials, or when Basic is the only scheme: a
Basic challenge makes browsers pop up their own login dialog, over a single-page
application's sign-in form too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Challenge:
    """The challenge of one credential scheme."""

    scheme: str  # as in the Authorization header: "Bearer", "Basic"
    params: tuple[tuple[str, str], ...] = ()  # after the realm
    # Sent only when the request carried this scheme, or no other is enabled.
    only_when_sent: bool = False

    def render(self, realm: str, error: dict[str, str]) -> str:
        params = [("realm", realm), *self.params, *error.items()]
        return self.scheme + " " + ", ".join(f'{k}="{quoted(v)}"' for k, v in params)


def quoted(value: str) -> str:
    """`value` safe inside a quoted-string: no quote, backslash or control byte."""
    return "".join(c for c in value if c not in '"\\' and c.isprintable())


def www_authenticate(
    challenges: Sequence[Challenge],
    realm: str,
    authorization: str | None,
    failed: str | None = None,
    **error: str,
) -> list[str]:
    """The `WWW-Authenticate` values of a 401; `error` goes on the `failed` scheme."""
    sent = (authorization or "").partition(" ")[0].lower()
    values = []
    for challenge in challenges:
        if (
            challenge.only_when_sent
            and len(challenges) > 1
            and challenge.scheme.lower() != sent
        ):
            continue
        values.append(
            challenge.render(realm, error if challenge.scheme == failed else {})
        )
    return values
