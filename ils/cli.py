"""The `ils` command: up, migrate, tenant administration, simulate, bench."""

from __future__ import annotations

import argparse
import asyncio
import json
import runpy
import sys
import uuid
from collections.abc import Sequence
from typing import Any

from ils.db.database import Database
from ils.db.migrate import migrate
from ils.domain.access import TenantKind
from ils.embedded import ensure_services
from ils.errors import IlsError
from ils.services.identity import Identity
from ils.services.ports import utc_now
from ils.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ils", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start everything in the foreground")
    up.add_argument("--host", default=None)
    up.add_argument("--port", type=int, default=None)
    demo = up.add_mutually_exclusive_group()
    demo.add_argument("--demo", dest="demo", action="store_true", default=None)
    demo.add_argument("--no-demo", dest="demo", action="store_false")

    sub.add_parser("migrate", help="apply database migrations")

    status = sub.add_parser("status", help="health summary: API readiness, Serve apps, actors")
    status.add_argument("--url", default=None, help="the API (default http://HOST:PORT)")
    status.add_argument(
        "--ray-dashboard",
        default="http://127.0.0.1:8265",
        help="the Ray dashboard to read Serve and actor state from ('none' to skip)",
    )

    tenant = sub.add_parser("tenant", help="tenant administration").add_subparsers(
        dest="tenant_command", required=True
    )
    create = tenant.add_parser("create", help="create a lab or practice with its admin")
    create.add_argument("--kind", choices=["lab", "practice"], required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--admin-email", required=True)
    create.add_argument("--admin-password", required=True)
    link = tenant.add_parser("link", help="let a practice order from a lab")
    link.add_argument("--lab", required=True)
    link.add_argument("--practice", required=True)
    rotate = tenant.add_parser(
        "rotate-webhook-secret", help="new LIMS webhook secret (the previous stays valid)"
    )
    rotate.add_argument("--tenant", required=True)

    audit = sub.add_parser("audit", help="the tamper-evident audit trail").add_subparsers(
        dest="audit_command", required=True
    )
    verify = audit.add_parser("verify", help="check a tenant's hash chain (exit 1 if broken)")
    verify.add_argument("--tenant", required=True)

    secrets = sub.add_parser("secrets", help="secrets at rest").add_subparsers(
        dest="secrets_command", required=True
    )
    secrets.add_parser("reseal", help="after a key rotation, re-seal under ILS_SECRET_KEY")

    figures = sub.add_parser("figures", help="the labs' metrics figures").add_subparsers(
        dest="figures_command", required=True
    )
    catch_up = figures.add_parser(
        "catch-up", help="bring labs' figures up to their logs (all labs behind, or --tenant)"
    )
    catch_up.add_argument("--tenant", help="one lab's id")

    simulate = sub.add_parser("simulate", help="run the lab simulator as an external LIMS")
    try:
        from ils.sim import cli as sim_cli

        sim_cli.add_arguments(simulate)
    except ImportError:  # the simulator package is optional at import time
        pass

    bench = sub.add_parser("bench", help="run a benchmark from bench/")
    bench.add_argument("name")
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


async def _with_identity(settings: Settings, action: Any) -> Any:
    settings, services = ensure_services(settings)
    db = await Database.connect(settings, min_size=1, max_size=2)
    try:
        async with db.connection() as conn:
            await migrate(conn)
        return await action(Identity(db, settings))
    finally:
        await db.close()
        services.stop()


async def _migrate(settings: Settings) -> list[str]:
    settings, services = ensure_services(settings)
    db = await Database.connect(settings, min_size=1, max_size=1)
    try:
        async with db.connection() as conn:
            return await migrate(conn)
    finally:
        await db.close()
        services.stop()


def _rotator(tenant_id: str) -> Any:
    from ils.services.lims_inbound import rotate_webhook_secret

    async def rotate(identity: Identity) -> Any:
        secret = await rotate_webhook_secret(identity.db, identity.settings, tenant_id, utc_now())
        return {"tenant_id": tenant_id, "webhook_secret": secret}

    return rotate


def _tenant(args: argparse.Namespace, settings: Settings) -> int:
    if args.tenant_command == "create":

        async def create(identity: Identity) -> Any:
            return await identity.create_tenant(
                TenantKind(args.kind), args.name, args.admin_email, args.admin_password, utc_now()
            )

        print(json.dumps(asyncio.run(_with_identity(settings, create))))
    elif args.tenant_command == "rotate-webhook-secret":
        print(json.dumps(asyncio.run(_with_identity(settings, _rotator(args.tenant)))))
    else:

        async def do_link(identity: Identity) -> Any:
            await identity.link(args.lab, args.practice, utc_now())
            return {"lab_id": args.lab, "practice_id": args.practice, "linked": True}

        print(json.dumps(asyncio.run(_with_identity(settings, do_link))))
    return 0


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    from ils.services.audit_trail import AuditTrail

    try:
        tenant_id = str(uuid.UUID(args.tenant))
    except ValueError:
        print(json.dumps({"ok": False, "reason": "--tenant must be a tenant id"}))
        return 2

    async def verify(identity: Identity) -> Any:
        return await AuditTrail(identity.db).verify(tenant_id)

    result = asyncio.run(_with_identity(settings, verify))
    print(json.dumps(result))
    return 0 if result["ok"] else 1


def _figures(args: argparse.Namespace, settings: Settings) -> int:
    """After a bulk load or the migration that adds the figures: build them off the read path."""
    from ils.services.housekeeping import Housekeeping
    from ils.services.lab_figures import LabFigures

    async def catch_up(identity: Identity) -> Any:
        figures = LabFigures(identity.db, utc_now)
        if args.tenant:
            done = await figures.current(str(uuid.UUID(args.tenant)))
            return {"labs": [args.tenant], "orders_refreshed": done.orders, "seq": done.seq}
        upkeep = Housekeeping(identity.db, figures)
        labs = await upkeep.once()
        return {"labs": labs, "orders_refreshed": upkeep.stats.orders_refreshed}

    try:
        print(json.dumps(asyncio.run(_with_identity(settings, catch_up))))
    except ValueError:
        print(json.dumps({"ok": False, "reason": "--tenant must be a tenant id"}))
        return 2
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from ils.status import probe_cluster, status

    probe = None
    if args.ray_dashboard != "none":

        def probe() -> dict[str, Any]:
            return probe_cluster(args.ray_dashboard)

    url = args.url or f"http://{settings.host}:{settings.port}"
    summary = status(url, probe)
    print(json.dumps(summary, default=str))
    return 0 if summary["healthy"] else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    try:
        if args.command == "up":
            # The CLI is the outer shell that starts the Ray driver; only this import crosses.
            from actors.launcher import up

            demo = settings.demo if args.demo is None else args.demo
            return up(settings, args.host or settings.host, args.port or settings.port, demo)
        if args.command == "status":
            return _status(args, settings)
        if args.command == "migrate":
            applied = asyncio.run(_migrate(settings))
            print(json.dumps({"applied": applied}))
            return 0
        if args.command == "tenant":
            return _tenant(args, settings)
        if args.command == "audit":
            return _audit(args, settings)
        if args.command == "figures":
            return _figures(args, settings)
        if args.command == "secrets":

            async def reseal(identity: Identity) -> Any:
                from ils.services import webhook_secrets

                webhooks = await webhook_secrets.reseal(identity.db, identity.settings)
                mfa = await identity.mfa.reseal()
                return {"mfa_secrets_resealed": mfa, "webhook_secrets_resealed": webhooks}

            print(json.dumps(asyncio.run(_with_identity(settings, reseal))))
            return 0
        if args.command == "simulate":
            from ils.sim import cli as sim_cli

            return int(sim_cli.run(args))
        if args.command == "bench":
            sys.argv = [f"bench.{args.name}", *args.rest]
            runpy.run_module(f"bench.{args.name}", run_name="__main__")
            return 0
    except IlsError as exc:
        print(json.dumps(exc.problem()), file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
