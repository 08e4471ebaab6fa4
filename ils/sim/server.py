"""The simulated LIMS over HTTP (Starlette + uvicorn): job intake and chaos controls.

Routes: ``POST /jobs`` (Bearer api key, Idempotency-Key), ``GET /jobs/{job_id}``, ``GET /healthz``,
``POST /_control/outage`` ``{"seconds", "mode": "503"|"hang"|"reset"}``, ``GET /_control/stats``,
``POST /_control/staff`` ``{"station", "staff"}``, ``POST /_control/advance`` ``{"minutes"}``,
``POST /_control/speed`` ``{"speed"}``. Control routes are never affected by an outage.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ils.domain.station import Station
from ils.sim.job import JobRejected
from ils.sim.lims import LimsSimulator
from ils.sim.outage import MODES, Outage

PROBLEM = "application/problem+json"


def problem(status: int, code: str, detail: str, **headers: str) -> JSONResponse:
    body = {"type": f"/problems/{code}", "title": code.replace("-", " "), "status": status}
    body["detail"] = detail
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers or None)


class OutageGate:
    """ASGI middleware that plays the outage on every non-control route."""

    def __init__(self, app: ASGIApp, outage: Outage) -> None:
        self.app = app
        self.outage = outage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        mode = self.outage.active() if scope["type"] == "http" else None
        if mode is None or scope["path"].startswith("/_control"):
            await self.app(scope, receive, send)
        elif mode == "503":
            retry = str(max(1, round(self.outage.remaining())))
            response = problem(
                503, "lims-unavailable", "the LIMS is down", **{"Retry-After": retry}
            )
            await response(scope, receive, send)
        elif mode == "hang":
            await self.outage.wait_over()
            await self.app(scope, receive, send)
        else:  # reset: start a response, then drop the connection before the body
            headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


async def post_job(request: Request) -> Response:
    sim: LimsSimulator = request.app.state.sim
    if not sim.authorized(request.headers.get("authorization")):
        return problem(401, "unauthorized", "a valid Bearer api key is required")
    order = await _json(request)
    if not isinstance(order, dict):
        return problem(400, "malformed-json", "the body must be a JSON object")
    try:
        body = sim.accept(order, request.headers.get("idempotency-key"))
    except JobRejected as exc:
        return problem(422, "job-rejected", str(exc))
    return JSONResponse(body)


async def get_job(request: Request) -> Response:
    sim: LimsSimulator = request.app.state.sim
    job = sim.model.jobs.get(request.path_params["job_id"])
    if job is None:
        return problem(404, "not-found", "no such job")
    station = job.station.value if job.station is not None else None
    return JSONResponse(
        {
            "job_id": job.job_id,
            "order_id": job.order_id,
            "status": job.state,
            "station": station,
            "sequence": job.sequence,
            "breakages": job.breakages,
        }
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def control_outage(request: Request) -> Response:
    sim: LimsSimulator = request.app.state.sim
    body = await _json(request) or {}
    mode, seconds = str(body.get("mode", "503")), body.get("seconds", 30)
    if mode not in MODES or not isinstance(seconds, int | float) or seconds < 0:
        return problem(422, "bad-outage", f"mode in {MODES} and seconds >= 0 are required")
    sim.outage.start(float(seconds), mode)
    return JSONResponse({"mode": mode, "seconds": seconds})


async def control_stats(request: Request) -> Response:
    sim: LimsSimulator = request.app.state.sim
    return JSONResponse(sim.stats())


async def control_staff(request: Request) -> Response:
    sim: LimsSimulator = request.app.state.sim
    body = await _json(request) or {}
    try:
        station, staff = Station(str(body.get("station"))), int(body["staff"])
    except (ValueError, KeyError, TypeError):
        return problem(422, "bad-staff", "a known station and an integer staff are required")
    sim.set_staff(station, staff)
    return JSONResponse(sim.model.station_state()[station.value])


async def control_advance(request: Request) -> Response:
    sim: LimsSimulator = request.app.state.sim
    body = await _json(request) or {}
    sim.advance(float(body.get("minutes", 0)))
    return JSONResponse({"sim_time": sim.stats()["sim_time"]})


async def control_speed(request: Request) -> Response:
    sim: LimsSimulator = request.app.state.sim
    body = await _json(request) or {}
    sim.pacer.set_speed(float(body.get("speed", sim.pacer.speed)))
    return JSONResponse({"speed": sim.pacer.speed})


def build_app(sim: LimsSimulator) -> ASGIApp:
    app = Starlette(
        routes=[
            Route("/jobs", post_job, methods=["POST"]),
            Route("/jobs/{job_id}", get_job, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/_control/outage", control_outage, methods=["POST"]),
            Route("/_control/stats", control_stats, methods=["GET"]),
            Route("/_control/staff", control_staff, methods=["POST"]),
            Route("/_control/advance", control_advance, methods=["POST"]),
            Route("/_control/speed", control_speed, methods=["POST"]),
        ]
    )
    app.state.sim = sim
    return OutageGate(app, sim.outage)
