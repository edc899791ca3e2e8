"""Connections to Redis, with timeouts: a Redis that stops answering fails requests
in seconds (503), never hangs them."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

# What a Redis that is down or unreachable raises (redis-py wraps socket errors in
# them): the service answers 503.
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


def connect(url: str, timeout_seconds: float) -> Redis:
    """A client of the server at `url`; each command waits `timeout_seconds` at most.

    One retry, at once: a pooled connection that a restarted Redis has closed fails
    its first command, and a new connection then succeeds.
    """
    return Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
        decode_responses=True,
    )
