"""`ils status`: one health summary from the API's /readyz and, when reachable, the Ray cluster.

Both probes are plain HTTP (httpx): the API's ``/readyz``, and the Ray dashboard's REST API for
the Serve applications (``/api/serve/applications/``) and the actors by class and state (the
state API, ``/api/v0/actors``). So `ils status` runs from any machine that reaches the head node,
without joining the cluster, and this module stays Ray-free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

#: Actor classes ILS runs (Serve's own actors are counted apart).
ILS_ACTORS = ("TenantRoom", "StationActor", "ForecastModel", "AnomalyModel", "BottleneckModel")
HEALTHY_APP = "RUNNING"
ClusterProbe = Callable[[], Mapping[str, Any]]
ACTOR_LIMIT = 10_000


def probe_api(url: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """``/readyz`` of the API at ``url``: its checks, or why it could not be read."""
    try:
        response = httpx.get(f"{url.rstrip('/')}/readyz", timeout=timeout_s)
    except httpx.HTTPError as exc:
        return {"reachable": False, "error": f"{type(exc).__name__}: {exc}"}
    try:
        body = response.json()
    except ValueError:
        return {"reachable": True, "status_code": response.status_code, "error": "not JSON"}
    return {"reachable": True, "status_code": response.status_code, **body}


def _get(client: httpx.Client, path: str) -> Any:
    response = client.get(path)
    response.raise_for_status()
    return response.json()


def serve_applications(body: Mapping[str, Any]) -> dict[str, Any]:
    """Applications, their deployments and replica counts by state, from the Serve REST API."""
    apps: dict[str, Any] = {}
    for name, app in (body.get("applications") or {}).items():
        deployments = {}
        for dep_name, dep in (app.get("deployments") or {}).items():
            replicas: dict[str, int] = {}
            for replica in dep.get("replicas") or []:
                replicas[replica.get("state", "?")] = replicas.get(replica.get("state", "?"), 0) + 1
            deployments[dep_name] = {"status": dep.get("status"), "replicas": replicas}
        apps[name] = {
            "status": app.get("status"),
            "message": app.get("message") or "",
            "route_prefix": app.get("route_prefix"),
            "deployments": deployments,
        }
    return apps


def actor_counts(body: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Actors by class name and state, from the state API's list answer."""
    rows = ((body.get("data") or {}).get("result") or {}).get("result") or []
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        states = counts.setdefault(str(row.get("class_name") or "?"), {})
        state = str(row.get("state") or "?")
        states[state] = states.get(state, 0) + 1
    return counts


def probe_cluster(dashboard_url: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """Serve applications and actor counts from the Ray dashboard at ``dashboard_url``."""
    try:
        with httpx.Client(base_url=dashboard_url.rstrip("/"), timeout=timeout_s) as client:
            apps = serve_applications(_get(client, "/api/serve/applications/"))
            actors = actor_counts(_get(client, f"/api/v0/actors?limit={ACTOR_LIMIT}"))
    except (httpx.HTTPError, ValueError) as exc:
        return {"dashboard": dashboard_url, "error": f"{type(exc).__name__}: {exc}"}
    return {"dashboard": dashboard_url, "applications": apps, "actors": actors}


def summarize(api: Mapping[str, Any], cluster: Mapping[str, Any] | None) -> dict[str, Any]:
    """Overall health and the list of what is wrong, from the probes' answers."""
    problems: list[str] = []
    if not api.get("reachable"):
        problems.append(f"api unreachable: {api.get('error')}")
    elif not api.get("ready"):
        failing = sorted(k for k, ok in (api.get("checks") or {}).items() if not ok)
        problems.append("api not ready: " + (", ".join(failing) or str(api.get("error"))))
    if cluster is not None:
        if cluster.get("error"):
            problems.append(f"ray: {cluster['error']}")
        for name, app in (cluster.get("applications") or {}).items():
            if app.get("status") != HEALTHY_APP:
                problems.append(f"serve app {name} is {app.get('status')}: {app.get('message')}")
        for cls, states in (cluster.get("actors") or {}).items():
            for state, n in states.items():
                if state in ("RESTARTING", "DEAD") and cls in ILS_ACTORS:
                    problems.append(f"{n} {cls} actor(s) {state.lower()}")
    return {"healthy": not problems, "problems": problems, "api": dict(api), "cluster": cluster}


def status(url: str, cluster_probe: ClusterProbe | None) -> dict[str, Any]:
    cluster = dict(cluster_probe()) if cluster_probe is not None else None
    return summarize(probe_api(url), cluster)
