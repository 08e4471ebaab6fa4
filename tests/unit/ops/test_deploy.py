"""The deployment files agree with each other: same Serve apps, no socket-killing timeout, an
idle head, GCS fault tolerance on an external Redis, secrets only by reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]


def _load(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text())


def _apps(config: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {a["name"]: (a["import_path"], a["route_prefix"]) for a in config["applications"]}


def test_the_rayservice_runs_the_apps_of_serve_config() -> None:
    service = _load("deploy/rayservice.yaml")
    embedded = yaml.safe_load(service["spec"]["serveConfigV2"])
    local = _load("serve_config.yaml")
    assert _apps(embedded) == _apps(local)
    for config in (embedded, local):
        assert "request_timeout_s" not in (config.get("http_options") or {})
    gateway = next(a for a in embedded["applications"] if a["route_prefix"] == "/ws")
    assert all(d["max_ongoing_requests"] >= 1000 for d in gateway["deployments"])


def test_the_rayservice_head_is_idle_and_its_gcs_survives_on_redis() -> None:
    cluster = _load("deploy/rayservice.yaml")["spec"]["rayClusterConfig"]
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    fault_tolerance = cluster["gcsFaultToleranceOptions"]
    assert fault_tolerance["redisAddress"]
    assert "secretKeyRef" in fault_tolerance["redisPassword"]["valueFrom"]
    pods = [cluster["headGroupSpec"]["template"]] + [
        g["template"] for g in cluster["workerGroupSpecs"]
    ]
    for pod in pods:
        (container,) = pod["spec"]["containers"]
        assert container["envFrom"] == [{"secretRef": {"name": "ils-app"}}]
        assert not any(e["name"].startswith("ILS_") for e in container.get("env", []))


def test_ray_up_clusters_start_an_idle_fault_tolerant_head_off_the_redis_port() -> None:
    for name in ("cluster.yaml", "deploy/cluster-aws.yaml"):
        config = _load(name)
        head = " ".join(config["head_start_ray_commands"])
        assert "--num-cpus=0" in head and "--port=6380" in head, name
        assert "RAY_REDIS_ADDRESS=" in head and "--redis-password" in head, name
        workers = " ".join(config["worker_start_ray_commands"])
        assert ":6380" in workers, name
    aws = _load("deploy/cluster-aws.yaml")
    assert aws["provider"]["type"] == "aws"
    assert aws["available_node_types"][aws["head_node_type"]]["resources"] == {"CPU": 0}
    assert _load("cluster.yaml")["provider"]["type"] == "local"


def test_example_secrets_hold_placeholders_only() -> None:
    for secret in yaml.safe_load_all((ROOT / "deploy/secrets.example.yaml").read_text()):
        for key, value in secret["stringData"].items():
            assert value in ("", "false") or "REPLACE" in value, key


def test_autoscaled_deployments_grow_to_one_replica_per_two_cores() -> None:
    from actors.deploy import fit_to_cores

    def api_max(cores: float) -> int:
        raw = _load("serve_config.yaml")
        fit_to_cores(raw, cores)
        api = next(a for a in raw["applications"] if a["name"] == "api")
        gateway = next(a for a in raw["applications"] if a["name"] == "realtime")
        assert "autoscaling_config" not in gateway["deployments"][0]  # fixed replicas untouched
        return int(api["deployments"][0]["autoscaling_config"]["max_replicas"])

    configured = _load("serve_config.yaml")["applications"][0]["deployments"][0]
    assert configured["autoscaling_config"]["max_replicas"] == 4
    assert [api_max(c) for c in (1, 2, 3, 4, 6, 8, 64)] == [1, 1, 1, 2, 3, 4, 4]
