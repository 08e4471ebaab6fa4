"""Deploy the Serve applications of serve_config.yaml, with the resolved settings as arguments."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import ray
import yaml
from ray import serve
from ray.serve._private.api import serve_start
from ray.serve.schema import ApplicationStatus, ServeDeploySchema

from ils.settings import Settings

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "serve_config.yaml"
#: Cores of the cluster per replica an autoscaled deployment may grow to. A replica's event loop
#: takes up to a core, and the gateway, rooms, models and databases need the rest: on 2 cores, a
#: webhook burst that scaled the API from 1 to 4 replicas made ``ils bench propagation``'s p99
#: 80 s instead of under 1 s (replicas starting while the stream ran, four loops on two cores).
CORES_PER_REPLICA = 2.0


def fit_to_cores(raw: dict[str, Any], cores: float) -> None:
    """Cap each autoscaled deployment's ``max_replicas`` at one replica per ``CORES_PER_REPLICA``
    cores of the cluster (never under its ``min_replicas``)."""
    for app in raw["applications"]:
        for deployment in app.get("deployments", []):
            scaling = deployment.get("autoscaling_config")
            if not scaling or "max_replicas" not in scaling:
                continue
            fits = max(1, int(cores // CORES_PER_REPLICA), scaling.get("min_replicas", 1))
            scaling["max_replicas"] = min(scaling["max_replicas"], fits)


def load_config(
    settings: Settings,
    host: str,
    port: int,
    path: Path = DEFAULT_CONFIG,
    cores: float | None = None,
) -> ServeDeploySchema:
    """serve_config.yaml with host/port applied and the settings injected into every app's args;
    with ``cores``, autoscaled deployments fitted to a cluster of that many cores."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text())
    if cores is not None:
        fit_to_cores(raw, cores)
    raw.setdefault("http_options", {}).update({"host": host, "port": port})
    if settings.tls_certfile and settings.tls_keyfile:
        raw["http_options"].update(
            {"ssl_certfile": str(settings.tls_certfile), "ssl_keyfile": str(settings.tls_keyfile)}
        )
    settings_arg = settings.model_dump(mode="json")
    settings_arg["secret_key"] = settings.secret_key.get_secret_value()
    settings_arg["secret_key_previous"] = settings.secret_key_previous.get_secret_value()
    for app in raw["applications"]:
        app.setdefault("args", {})
        app["args"] = {**app["args"], "settings": settings_arg}
    return ServeDeploySchema.model_validate(raw)


def deploy(
    settings: Settings,
    host: str,
    port: int,
    path: Path = DEFAULT_CONFIG,
    timeout_s: float = 300.0,
) -> None:
    """Start Serve on the connected Ray cluster and deploy every application; blocks until up.

    Serve's own blocking deploy gives up after 60 s; replicas that import the analytics stack on
    a busy two-core machine can take longer, so this waits on the applications' status itself.
    Autoscaled deployments grow to at most one replica per two of the cluster's cores now
    (``fit_to_cores``); a cluster deployed with ``serve deploy`` takes serve_config.yaml as is.
    """
    cores = ray.cluster_resources().get("CPU")
    config = load_config(settings, host, port, path, cores)
    client = serve_start(http_options=config.http_options.model_dump())
    client.deploy_apps(config, _blocking=False)
    names = {app.name for app in config.applications}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        apps = serve.status().applications
        states = {name: apps[name].status for name in names if name in apps}
        failed = [n for n, s in states.items() if s == ApplicationStatus.DEPLOY_FAILED]
        if failed:
            raise RuntimeError(
                f"Serve could not deploy {failed}: " + "; ".join(apps[n].message for n in failed)
            )
        if len(states) == len(names) and all(
            s == ApplicationStatus.RUNNING for s in states.values()
        ):
            client.wait_for_proxies_serving(wait_for_applications_running=True)
            return
        time.sleep(0.5)
    raise TimeoutError(f"Serve applications {sorted(names)} not running after {timeout_s:.0f} s")
