"""Redis: the only module that talks to it (replay windows, idempotency, rate limits, lockouts).

Everything kept here is either rebuildable from PostgreSQL or safe to forget.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ils.errors import DependencyUnavailable
from ils.settings import Settings


@asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    """Redis failures surface as ``dependency-unavailable`` (503 with Retry-After), not a 500."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise DependencyUnavailable("Redis is unreachable") from exc


class Bus:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    def connect(cls, settings: Settings) -> Bus:
        client: aioredis.Redis = aioredis.Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=2,
            socket_timeout=5,
            health_check_interval=30,
        )
        return cls(client, settings.redis_prefix)

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except (RedisError, OSError):
            return False

    async def incr_window(self, key: str, window_s: int) -> int:
        """Count an attempt in a fixed window; the key expires with the window."""
        async with _reachable():
            count = await self.client.eval(_INCR_WINDOW, 1, self.key(key), window_s)
        return int(count)

    async def ttl(self, key: str) -> int:
        async with _reachable():
            return int(await self.client.ttl(self.key(key)))

    async def hold(self, key: str, ttl_s: int) -> None:
        """Set a flag that expires by itself (a lockout); ``ttl`` tells how long it has left."""
        async with _reachable():
            await self.client.set(self.key(key), b"1", ex=ttl_s)

    async def forget(self, *keys: str) -> None:
        async with _reachable():
            await self.client.delete(*(self.key(k) for k in keys))

    async def first_in_window(self, key: str, window_s: int) -> bool:
        """True for the first caller of a ``window_s``-second window (SET NX EX), else False."""
        async with _reachable():
            return bool(await self.client.set(self.key(key), b"1", nx=True, ex=window_s))

    async def tally(self, key: str, ttl_s: int) -> None:
        """Count one occurrence; the counter is forgotten ``ttl_s`` seconds after the last one."""
        full = self.key(key)
        async with _reachable():
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(full)
            pipe.expire(full, ttl_s)
            await pipe.execute()

    async def take_tally(self, key: str) -> int:
        """Read and reset a :meth:`tally` counter atomically (GETDEL): each count is taken once."""
        async with _reachable():
            value = await self.client.getdel(self.key(key))
        return int(value or 0)

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every key under ``prefix`` (tests clean up their own key prefixes this way)."""
        removed = 0
        async for key in self.client.scan_iter(match=self.key(prefix) + "*", count=500):
            removed += int(await self.client.delete(key))
        return removed

    async def stream_add(self, stream: str, frames: list[dict[str, Any]], maxlen: int) -> None:
        """Append frames to a replay stream whose entry ids are their seq numbers.

        Redis is a cache here: a failure is swallowed (readers fall back to PostgreSQL).
        """
        if not frames:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for frame in frames:
                pipe.xadd(
                    self.key(stream),
                    {"f": json.dumps(frame, separators=(",", ":"))},
                    id=f"{frame['seq']}-0",
                    maxlen=maxlen,
                    approximate=True,
                )
            await pipe.execute()
        except (RedisError, OSError):
            return

    async def stream_after(self, stream: str, seq: int, limit: int) -> list[dict[str, Any]]:
        """Frames with seq > ``seq`` from a replay stream (possibly fewer than asked)."""
        try:
            rows = await self.client.xrange(self.key(stream), min=f"({seq}-0", count=limit)
        except (RedisError, OSError):
            return []
        return [json.loads(fields[b"f"]) for _, fields in rows or [] if fields]

    async def close(self) -> None:
        await self.client.aclose()

    async def raw(self, *args: Any) -> Any:
        return await self.client.execute_command(*args)


#: INCR, and the window's expiry set by the first count, atomically. A script rather than
#: ``EXPIRE ... NX``, which needs Redis 7 (the embedded server is Redis 6.2).
_INCR_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
