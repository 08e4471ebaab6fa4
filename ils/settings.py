"""One Settings object, read once from the environment (prefix ``ILS_``) and passed in.

Only this module reads the environment. Everything else receives a ``Settings`` instance (Serve
replicas get it as application arguments, so a replica never depends on the environment it was
started in).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ILS_", extra="ignore", frozen=True)

    #: PostgreSQL DSN; empty means "start the embedded server under data_dir".
    database_url: str = ""
    #: Redis URL; empty means "start the embedded server under data_dir".
    redis_url: str = ""
    data_dir: Path = Path(".ils")
    #: Prefix of every Redis key ILS writes, so several deployments (or test runs) share a server.
    redis_prefix: str = "ils:"

    host: str = "127.0.0.1"
    port: int = 8000
    #: Port of the local Ray head's GCS (never 6379, where Redis lives).
    ray_port: int = 6390
    ray_dashboard_port: int = 8265

    db_pool_min: int = 1
    db_pool_max: int = 10

    access_token_ttl_s: int = 15 * 60
    refresh_token_ttl_s: int = 14 * 24 * 3600
    #: argon2id parameters (RFC 9106 second recommended option, with a smaller memory for laptops).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 64 * 1024
    argon2_parallelism: int = 1

    #: Key that encrypts secrets at rest (webhook secrets, LIMS keys, TOTP secrets); base64 urlsafe
    #: 32 bytes. Empty in development means a key derived from the data directory is used.
    secret_key: SecretStr = SecretStr("")
    #: The key before the last rotation: still opens secrets sealed under it (see ils/crypto.py).
    secret_key_previous: SecretStr = SecretStr("")

    #: Login hardening: failed logins per account / per address in a window lock them out.
    login_failures_per_account: int = 5
    login_failures_per_address: int = 30
    login_window_s: int = 15 * 60
    lockout_s: int = 15 * 60
    #: Days a new admin may sign in without MFA before enrolment becomes mandatory.
    mfa_grace_days: int = 7

    #: TLS: when both are set the API serves HTTPS (and sends HSTS).
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None

    #: Days after delivery within which remakes are honoured (defaults; each lab may override).
    non_adapt_window_days: int = 90
    lab_error_window_days: int = 180

    max_body_bytes: int = 1024 * 1024
    idempotency_ttl_s: int = 24 * 3600

    demo: bool = True
    sim_port: int = 8100
    sim_speed: float = 60.0
    #: Orders the demo practice places per hour of wall time (Poisson; 0: none).
    demo_orders_per_hour: float = 120.0

    cors_origins: list[str] = Field(default_factory=list)
    #: Accept WebSocket permessage-deflate on the gateway (off: it costs CPU per frame per socket).
    ws_compression: bool = False

    #: Level of the JSON log lines every process writes to stderr (``DEBUG`` … ``ERROR``).
    log_level: str = "INFO"
    #: Whether the api application keeps the database's background actor running (the LIMS relay
    #: and the figures upkeep; one per database, however many api replicas): on, a plain
    #: ``serve deploy serve_config.yaml`` drains the outbox too.
    background_with_api: bool = True
    #: Seconds between two rounds of the figures upkeep (see ils/services/housekeeping.py).
    upkeep_every_s: float = 10.0
    #: Serve's ingress started by ``ils up``: its HAProxy ingress (``haproxy``), which forwards
    #: connections to the replicas' own HTTP servers, or its Python proxy (``proxy``) (see
    #: actors/tuning.py and docs/OPERATIONS.md "Ingress"). Only read before Ray starts.
    serve_ingress: Literal["proxy", "haproxy"] = "haproxy"

    def with_urls(self, database_url: str, redis_url: str) -> Settings:
        return self.model_copy(update={"database_url": database_url, "redis_url": redis_url})
