"""Probes: liveness (`/health`) and readiness (`/health/ready`)."""

from __future__ import annotations

import logging
from typing import Annotated

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..auth.core.revocation import RevocationList
from ..auth.stores import TokenStore
from ..resources import provide

# How long the database may take to answer the readiness probe.
DATABASE_TIMEOUT_SECONDS = 2.0

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
SessionmakerDep = Annotated[
    async_sessionmaker[AsyncSession], provide(async_sessionmaker)
]
RevocationsDep = Annotated[RevocationList, provide(RevocationList)]
TokenStoreDep = Annotated[TokenStore, provide(TokenStore)]


@router.get("/health")
async def health() -> dict[str, str]:
    """200 while the service runs; no authentication."""
    return {"status": "ok"}


async def database_answers(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    try:
        with anyio.fail_after(DATABASE_TIMEOUT_SECONDS):
            async with sessionmaker() as session:
                await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        log.warning(
            "not ready: the database does not answer (%s)", type(error).__name__
        )
        return False
    return True


@router.get(
    "/health/ready",
    responses={503: {"description": "Not ready: a check fails; see Retry-After"}},
)
async def ready(
    sessionmaker: SessionmakerDep, store: TokenStoreDep, revocations: RevocationsDep
) -> JSONResponse:
    """200 when the service can authenticate requests: the database (and Redis,
    when it is the token store) answers and the revocation list was synced within
    its bound. 503 otherwise, naming the check that fails, with Retry-After. No
    authentication; for load balancers."""
    checks = {"database": await database_answers(sessionmaker)}
    for name, check in store.checks.items():
        with anyio.move_on_after(DATABASE_TIMEOUT_SECONDS):
            checks[name] = False
            checks[name] = await check()
    checks["revocations"] = revocations.is_fresh
    body = {
        "status": "ready" if all(checks.values()) else "unavailable",
        "checks": {name: "ok" if ok else "failing" for name, ok in checks.items()},
    }
    if all(checks.values()):
        return JSONResponse(body)
    return JSONResponse(body, 503, headers={"Retry-After": "5"})
