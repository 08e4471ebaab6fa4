"""What one Ray actor call costs on this machine, in CPU time, against the same call in process.

The real-time path makes Ray actor calls for every batch of events it moves: the API replica
publishes to each tenant's ``TenantRoom``, each gateway replica's long-poll returns from the room
and is made again, and the stations and models are fed. This bench measures the price of such a
call alone: five async actors (``num_cpus=0``, like the rooms) are called with a one-event frame
batch at a fixed rate, and the CPU time of the actors' processes and of the calling process is
read from the operating system (user + system) over each phase. The same frames handed to the
same method of an object in this process give the baseline of the work itself.

Run: ``python -m bench.ray_calls [--quick]`` (or ``ils bench ray_calls``); last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

import psutil

ACTORS = 5
#: One event on the wire, as a room holds it (order moved to a station).
FRAME: dict[str, Any] = {
    "seq": 1,
    "topic": "orders",
    "event": {
        "id": "7f1c2b9e-5d0a-4c1e-9a53-0e8b6f7d2c41",
        "type": "order.status_changed",
        "occurred_at": "2026-12-07T09:00:00.000Z",
        "data": {
            "order_id": "0b6d3f0e-2a8c-4f5b-b1e7-9c4d2e6a8f10",
            "status": "in_production",
            "station": "edging",
        },
    },
}


class Hub:
    """The called side: counts the frames it is handed (what the actor does, minus Ray)."""

    def __init__(self) -> None:
        self.frames = 0

    async def publish(self, frames: list[dict[str, Any]]) -> int:
        self.frames += len(frames)
        return self.frames

    def pid(self) -> int:
        return os.getpid()


def _cpu_s(processes: list[psutil.Process]) -> float:
    return sum(p.cpu_times().user + p.cpu_times().system for p in processes)


async def _phase(
    call: Any, rate: float, seconds: float, callee: list[psutil.Process]
) -> dict[str, Any]:
    """Call at ``rate`` a second (in ticks of 10 ms) for ``seconds``; CPU per call each side."""
    me = [psutil.Process()]
    tick = 0.01
    per_tick = max(1, round(rate * tick))
    callee_0, caller_0, began = _cpu_s(callee), _cpu_s(me), time.perf_counter()
    calls, k = 0, 0
    while time.perf_counter() - began < seconds:
        await asyncio.gather(*(call(k + i) for i in range(per_tick)))
        calls, k = calls + per_tick, k + per_tick
        await asyncio.sleep(max(0.0, began + calls / rate - time.perf_counter()))
    elapsed = time.perf_counter() - began
    callee_s, caller_s = _cpu_s(callee) - callee_0, _cpu_s(me) - caller_0
    return {
        "calls_per_s": round(calls / elapsed, 1),
        "callee_us_per_call": round(1e6 * callee_s / calls, 1),
        "caller_us_per_call": round(1e6 * caller_s / calls, 1),
        "callee_cores": round(callee_s / elapsed, 3),
        "caller_cores": round(caller_s / elapsed, 3),
    }


async def _measure(rates: list[float], seconds: float) -> dict[str, Any]:
    import ray

    actor_class: Any = ray.remote(Hub)
    actors = [actor_class.options(num_cpus=0, max_concurrency=1000).remote() for _ in range(ACTORS)]
    callee = [psutil.Process(p) for p in await asyncio.gather(*(a.pid.remote() for a in actors))]
    await asyncio.sleep(2.0)  # workers settled after start
    idle_0, began = _cpu_s(callee), time.perf_counter()
    await asyncio.sleep(seconds)
    idle_cores = (_cpu_s(callee) - idle_0) / (time.perf_counter() - began)

    local = [Hub() for _ in range(ACTORS)]

    async def in_process(k: int) -> int:
        return await local[k % ACTORS].publish([FRAME])

    async def over_ray(k: int) -> int:
        result: int = await actors[k % ACTORS].publish.remote([FRAME])
        return result

    phases = []
    for rate in rates:
        baseline = await _phase(in_process, rate, seconds, [])
        remote = await _phase(over_ray, rate, seconds, callee)
        phases.append(
            {
                "rate_per_s": rate,
                "ray": remote,
                "in_process_caller_us_per_call": baseline["caller_us_per_call"],
            }
        )
    return {"actors_idle_cores": round(idle_cores, 3), "phases": phases}


def main(argv: list[str] | None = None) -> None:
    import ray

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s phases (10 s otherwise)")
    parser.add_argument("--rates", default="100,300,1000", help="calls per second, comma separated")
    args = parser.parse_args(argv)
    seconds = 5.0 if args.quick else 10.0
    rates = [float(r) for r in args.rates.split(",")]
    load_before = os.getloadavg()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        figures = asyncio.run(_measure(rates, seconds))
    finally:
        ray.shutdown()
    conditions = {
        "cores": os.cpu_count(),
        "ray": f"{ray.__version__}, local, num_cpus=2",
        "actors": f"{ACTORS} async actors, num_cpus=0, max_concurrency=1000",
        "payload": "a list of one event frame (about 300 bytes as JSON)",
        "phase_s": seconds,
        "caller": "one asyncio loop in this process, calls in ticks of 10 ms",
        "load_average_before": [round(x, 2) for x in load_before],
    }
    print(json.dumps({"bench": "ray_calls", **figures, "conditions": conditions}))


if __name__ == "__main__":
    main()
