"""Deploy the Serve applications of serve_config.yaml, with the resolved settings as arguments."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from ray import serve
from ray.serve._private.api import serve_start
from ray.serve.schema import ApplicationStatus, ServeDeploySchema

from ils.settings import Settings

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "serve_config.yaml"


def load_config(
    settings: Settings, host: str, port: int, path: Path = DEFAULT_CONFIG
) -> ServeDeploySchema:
    """serve_config.yaml with host/port applied and the settings injected into every app's args."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text())
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
    """
    config = load_config(settings, host, port, path)
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
