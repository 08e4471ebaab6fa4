"""CPU and memory over time for the load benches: the Ray processes this bench started.

Every ``every_s`` seconds: the resident memory of the Ray worker processes (actors and Serve
replicas, descendants of this driver), of the Ray system processes (GCS, raylet, ...), of this
driver, and CPU (the machine's total, and this process tree's share). The slope of the worker
memory over time, by least squares, says whether memory stays flat.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psutil


def _is_worker(proc: psutil.Process) -> bool:
    try:
        name = proc.name()
        return name.startswith("ray::") or "default_worker.py" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


@dataclass
class Sampler:
    every_s: float = 10.0
    samples: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.me = psutil.Process(os.getpid())
        self.began = time.monotonic()
        self._cpu_total = self._tree_cpu()
        self._at = time.monotonic()
        psutil.cpu_percent()

    def _tree(self) -> list[psutil.Process]:
        return [self.me, *self.me.children(recursive=True)]

    def _tree_cpu(self) -> float:
        total = 0.0
        for proc in self._tree():
            try:
                times = proc.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
            except psutil.Error:
                continue
        return total

    def sample(self) -> dict[str, Any]:
        workers = system = 0.0
        count = 0
        kinds: dict[str, float] = {}
        for proc in self._tree()[1:]:
            try:
                rss = proc.memory_info().rss / 2**20
                name = proc.name()
            except psutil.Error:
                continue
            if _is_worker(proc):
                workers, count = workers + rss, count + 1
                kind = _kind(name)
                kinds[kind] = kinds.get(kind, 0.0) + rss
            else:
                system += rss
        cpu, now = self._tree_cpu(), time.monotonic()
        tree_pct = 100.0 * max(0.0, cpu - self._cpu_total) / max(1e-6, now - self._at)
        self._cpu_total, self._at = cpu, now
        row = {
            "t_s": round(now - self.began, 1),
            "ray_worker_rss_mb": round(workers, 1),
            "ray_workers": count,
            "other_children_rss_mb": round(system, 1),
            "driver_rss_mb": round(self.me.memory_info().rss / 2**20, 1),
            "machine_cpu_pct": psutil.cpu_percent(),
            "tree_cpu_pct": round(tree_pct, 1),
            "rss_mb_by_kind": {k: round(v, 1) for k, v in sorted(kinds.items())},
        }
        self.samples.append(row)
        return row

    async def run(self, until: asyncio.Event) -> None:
        self.sample()
        while not until.is_set():
            try:
                await asyncio.wait_for(until.wait(), self.every_s)
            except TimeoutError:
                self.sample()

    def summary(self) -> dict[str, Any]:
        # Warm-up (actors and replicas starting, pools filling) is not a leak: fit the later half.
        rows = [r for r in self.samples if r["t_s"] > 0]
        rows = rows[len(rows) // 2 :] if len(rows) >= 4 else rows
        if len(rows) < 2:
            return {"samples": self.samples, "worker_rss_slope_mb_per_min": None}
        t = np.asarray([r["t_s"] for r in rows]) / 60.0
        rss = np.asarray([r["ray_worker_rss_mb"] for r in rows])
        slope = float(np.polyfit(t, rss, 1)[0])
        return {
            "samples": self.samples,
            "worker_rss_slope_mb_per_min": round(slope, 2),
            "rss_slope_mb_per_min_by_kind": _slopes_by_kind(rows, t),
            "slope_fitted_from_t_s": rows[0]["t_s"],
            "worker_rss_slope_pct_per_hour": round(100.0 * slope * 60.0 / float(rss.mean()), 2),
            "machine_cpu_pct_mean": round(float(np.mean([r["machine_cpu_pct"] for r in rows])), 1),
        }


def _kind(name: str) -> str:
    """The kind of a Ray worker from its process title, whatever method it is running.

    ``ray::TenantRoom.poll`` and ``ray::room:<tenant>:TenantRoom`` -> ``TenantRoom``;
    ``ray::ServeReplica:api:api.handle_request`` -> ``ServeReplica:api:api``.
    """
    bare = name.removeprefix("ray::")
    if bare.startswith("ServeReplica:"):
        return ":".join(bare.split(".")[0].split(":")[:3])
    return bare.split(".")[0].split(":")[-1] or "worker"


def _slopes_by_kind(rows: list[dict[str, Any]], t: Any) -> dict[str, float]:
    """Memory slope of each kind of process (summed over its processes), in MB per minute.

    A kind must be present in every fitted sample: a process that restarted midway (chaos) would
    show its restart, not a leak.
    """
    kinds = set.intersection(*(set(r["rss_mb_by_kind"]) for r in rows))
    out = {}
    for kind in sorted(kinds):
        rss = np.asarray([r["rss_mb_by_kind"][kind] for r in rows])
        out[kind] = round(float(np.polyfit(t, rss, 1)[0]), 2)
    return out


def _machine_kind(proc: psutil.Process, me: int, helpers: AbstractSet[int]) -> str:
    """What a process on the machine is, for the CPU account of a bench phase."""
    if proc.pid == me:
        return "bench_driver"
    if proc.pid in helpers:
        return "bench_clients"
    name = proc.name()
    if _is_worker(proc):
        return _kind(name)
    for known in ("haproxy", "postgres", "redis-server", "raylet", "gcs_server"):
        if name.startswith(known):
            return known
    if "ray" in " ".join(proc.cmdline()):
        return "ray_other"
    return "other"


#: pid -> (process, its start time, CPU seconds (user + system), write system calls) at one moment.
Snapshot = dict[int, tuple[psutil.Process, float, float, int]]


def processes_now() -> Snapshot:
    """Start time, CPU seconds and write system calls of every process on the machine, by pid."""
    out = {}
    for proc in psutil.process_iter():
        try:
            started, times = proc.create_time(), proc.cpu_times()
            writes = proc.io_counters().write_count
        except psutil.Error:
            continue
        out[proc.pid] = (proc, started, times.user + times.system, writes)
    return out


def work_by_kind(
    before: Snapshot, wall_s: float, helpers: AbstractSet[int] = frozenset()
) -> dict[str, dict[str, float]]:
    """Since ``before``, per kind of process: the cores it kept busy (CPU seconds / wall
    seconds) and its write system calls per second (a socket write is one; the gateway's
    writes per frame delivered come from it).

    A process started since counts from zero (a pid reused by a new process too); one that ended
    since is not counted (its last seconds are unknown), so the kinds add up to at most what the
    machine did.
    """
    me, wall = os.getpid(), max(wall_s, 1e-9)
    cpu: dict[str, float] = {}
    writes: dict[str, float] = {}
    for pid, (proc, started, cpu_s, written) in processes_now().items():
        was = before.get(pid)
        cpu_was, written_was = (was[2], was[3]) if was and was[1] == started else (0.0, 0)
        try:
            kind = _machine_kind(proc, me, helpers)
        except psutil.Error:
            continue
        cpu[kind] = cpu.get(kind, 0.0) + max(0.0, cpu_s - cpu_was)
        writes[kind] = writes.get(kind, 0.0) + max(0, written - written_was)
    ranked = sorted(cpu, key=lambda k: -cpu[k])
    cores = {k: round(cpu[k] / wall, 3) for k in ranked}
    return {
        "cpu_cores_by_process": {k: v for k, v in cores.items() if v >= 0.005},
        "write_syscalls_per_s_by_process": {
            k: round(writes[k] / wall, 1) for k in ranked if writes[k] / wall >= 1.0
        },
    }
