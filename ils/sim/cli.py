"""``ils simulate``: run the lab simulator as an external LIMS in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

from ils.sim.lims import LimsConfig
from ils.sim.serve import serve_lims


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--ils-base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--lab-tenant-id", required=True)
    parser.add_argument("--webhook-secret", required=True)
    parser.add_argument("--api-key", required=True, help="the Bearer key ILS must present")
    parser.add_argument("--speed", type=float, default=60.0, help="simulated s per wall s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=1, help="events per webhook (max 500)")
    parser.add_argument("--duplicate-rate", type=float, default=0.0)
    parser.add_argument("--reorder-rate", type=float, default=0.0)
    parser.add_argument(
        "--self-arrivals",
        type=float,
        default=0.0,
        metavar="PER_DAY",
        help="generate this many orders a day itself (benchmarks; the demo gets jobs from ILS)",
    )
    parser.add_argument("--country", default="US", help="public holidays for self-arrivals")
    parser.add_argument(
        "--telemetry-token", default="", help="a lab user's ILS access token to post telemetry"
    )
    parser.add_argument(
        "--no-telemetry", dest="telemetry", action="store_false", help="no equipment telemetry"
    )


def config_from(args: argparse.Namespace) -> LimsConfig:
    return LimsConfig(
        ils_base_url=args.ils_base_url,
        lab_tenant_id=args.lab_tenant_id,
        webhook_secret=args.webhook_secret,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        speed=args.speed,
        seed=args.seed,
        batch_size=max(1, min(500, args.batch_size)),
        duplicate_rate=args.duplicate_rate,
        reorder_rate=args.reorder_rate,
        self_arrivals_per_day=args.self_arrivals,
        country=args.country,
        telemetry=args.telemetry,
        telemetry_token=args.telemetry_token,
    )


async def _serve(config: LimsConfig) -> None:
    handle = await serve_lims(config, embedded=False)
    print(f"LIMS simulator ready at {handle.url} (speed {config.speed}x)", flush=True)
    try:
        await handle.tasks[0]  # uvicorn exits on SIGINT/SIGTERM
    finally:
        await handle.stop()
        print(json.dumps(handle.simulator.stats(), default=str), flush=True)


def run(args: argparse.Namespace) -> int:
    # uvicorn re-raises the SIGINT it handled once it has shut down: that is a clean stop here.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(config_from(args)))
    return 0


def main() -> None:  # `python -m ils.sim.cli` until the lead wires `ils simulate`
    parser = argparse.ArgumentParser(prog="ils simulate", description=__doc__)
    add_arguments(parser)
    raise SystemExit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
