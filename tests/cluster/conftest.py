"""Cluster tier: one local Ray per test session (num_cpus=2), Serve apps deployed once per module.

The Ray head never takes port 6379 (a local ``ray.init`` picks free ports). Modules get their own
database (cloned from the migrated template) and deploy the applications of serve_config.yaml
against it, then drive them over real HTTP (and WebSocket) clients.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bench.scratch import drop_prefix, free_port
from ils.settings import Settings
from tests.conftest import _admin, _drop, _with_database


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    import ray
    from ray import serve

    from actors.tuning import apply_serve_tuning

    # ILS_SERVE_INGRESS picks the ingress tested; HAProxy's metrics leave 9101 to a running ILS,
    # and a redeploy or the shutdown does not wait out the 30 s drain meant for load balancers
    apply_serve_tuning(
        Settings().serve_ingress, haproxy_metrics_port=free_port(), haproxy_drain_s=2.0
    )
    ray.init(num_cpus=2, namespace="ils", include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        try:
            serve.shutdown()
        finally:
            ray.shutdown()


@pytest.fixture(scope="session")
def http_port(ray_cluster: None) -> int:
    return free_port()


@pytest.fixture(scope="module")
async def cluster_settings(
    server_dsn: str, template_db: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Settings]:
    name = f"ils_c_{secrets.token_hex(6)}"
    admin = await _admin(server_dsn)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    data_dir: Path = tmp_path_factory.mktemp("cluster")
    settings = Settings(
        database_url=_with_database(server_dsn, name),
        redis_url=redis_url,
        redis_prefix=f"ils-ctest-{secrets.token_hex(4)}:",
        data_dir=data_dir,
        argon2_time_cost=1,
        argon2_memory_kib=8 * 1024,
        db_pool_min=1,
        db_pool_max=4,
        background_with_api=False,  # its own tests start it; others leave the outbox be
    )
    try:
        yield settings
    finally:
        await _drop(admin, name)
        await admin.close()
        await drop_prefix(settings)  # the rooms' replay windows


@pytest.fixture(scope="module")
def api_url(ray_cluster: None, http_port: int, cluster_settings: Settings) -> str:
    """Deploy every Serve application against this module's database; the base URL."""
    from actors.deploy import deploy

    deploy(cluster_settings, "127.0.0.1", http_port)
    return f"http://127.0.0.1:{http_port}"
