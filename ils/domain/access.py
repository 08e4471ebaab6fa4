"""Roles and the permission matrix: the one place that says who may do what.

A user has exactly one role inside one tenant; what a role may do also depends on the tenant's
kind (an admin of a practice is not an admin of a lab). Routes ask for a ``Permission``; the
matrix below answers. The README renders this table for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ils.domain.role import Actor, Role, TenantKind
from ils.errors import Forbidden

__all__ = ["MATRIX", "Actor", "Permission", "Principal", "Role", "TenantKind", "permissions_of"]


class Permission(StrEnum):
    ORDERS_READ = "orders:read"
    ORDERS_CREATE = "orders:create"
    ORDERS_TRANSITION = "orders:transition"
    ORDERS_ISSUE = "orders:issue"  # returns, non-adapts, remakes
    ORDERS_IMPORT = "orders:import"  # DCS import (lab side)
    USERS_MANAGE = "users:manage"
    LAB_READ = "lab:read"  # stations, utilisation, bottlenecks
    LAB_CONFIGURE = "lab:configure"  # LIMS connection, station resources, cost model
    QC_READ = "qc:read"
    QC_WRITE = "qc:write"
    QC_APPROVE = "qc:approve"  # verify/close RCAs, define control points and limits
    ANALYTICS_READ = "analytics:read"
    FORECAST_MANAGE = "forecast:manage"  # import demand history
    EQUIPMENT_WRITE = "equipment:write"  # telemetry, equipment registry and events
    ALERTS_MANAGE = "alerts:manage"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    DISPENSING_USE = "dispensing:use"
    AUDIT_READ = "audit:read"


P = Permission
_LAB_READ_ALL = {P.ORDERS_READ, P.LAB_READ, P.QC_READ, P.CATALOG_READ}

#: (tenant kind, role) -> permissions. A pair missing here has no permission at all.
MATRIX: dict[tuple[TenantKind, Role], frozenset[Permission]] = {
    (TenantKind.PRACTICE, Role.ADMIN): frozenset(
        {
            P.ORDERS_READ,
            P.ORDERS_CREATE,
            P.ORDERS_TRANSITION,
            P.ORDERS_ISSUE,
            P.USERS_MANAGE,
            P.ANALYTICS_READ,
            P.CATALOG_READ,
            P.DISPENSING_USE,
            P.AUDIT_READ,
        }
    ),
    (TenantKind.PRACTICE, Role.ECP): frozenset(
        {
            P.ORDERS_READ,
            P.ORDERS_CREATE,
            P.ORDERS_TRANSITION,
            P.ORDERS_ISSUE,
            P.CATALOG_READ,
            P.DISPENSING_USE,
        }
    ),
    (TenantKind.LAB, Role.ADMIN): frozenset(
        _LAB_READ_ALL
        | {
            P.ORDERS_TRANSITION,
            P.ORDERS_ISSUE,
            P.ORDERS_IMPORT,
            P.USERS_MANAGE,
            P.LAB_CONFIGURE,
            P.QC_WRITE,
            P.QC_APPROVE,
            P.ANALYTICS_READ,
            P.FORECAST_MANAGE,
            P.EQUIPMENT_WRITE,
            P.ALERTS_MANAGE,
            P.CATALOG_WRITE,
            P.DISPENSING_USE,
            P.AUDIT_READ,
        }
    ),
    (TenantKind.LAB, Role.LAB_TECH): frozenset(
        _LAB_READ_ALL | {P.ORDERS_TRANSITION, P.QC_WRITE, P.EQUIPMENT_WRITE, P.ALERTS_MANAGE}
    ),
    (TenantKind.LAB, Role.ENGINEER): frozenset(
        _LAB_READ_ALL
        | {
            P.QC_WRITE,
            P.QC_APPROVE,
            P.ANALYTICS_READ,
            P.FORECAST_MANAGE,
            P.EQUIPMENT_WRITE,
            P.ALERTS_MANAGE,
        }
    ),
    (TenantKind.LAB, Role.SUPPLIER): frozenset({P.CATALOG_READ, P.CATALOG_WRITE}),
}


@dataclass(frozen=True)
class Principal:
    """Who is asking: the authenticated user, their tenant and role."""

    user_id: str
    tenant_id: str
    tenant_kind: TenantKind
    role: Role
    email: str = ""
    session_id: str = ""

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.tenant_kind, self.role)

    @property
    def actor(self) -> Actor:
        return Actor(self.tenant_kind, self.role)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise Forbidden(f"the {self.role} role of a {self.tenant_kind} may not do {permission}")


def permissions_of(kind: TenantKind, role: Role) -> frozenset[Permission]:
    return MATRIX.get((kind, role), frozenset())


def roles_for(kind: TenantKind) -> list[Role]:
    """The roles a user of this kind of tenant may have."""
    return [role for (k, role) in MATRIX if k == kind]


def matrix_markdown() -> str:
    """The matrix as a Markdown table (kept in the README; a test checks they agree)."""
    columns = [(k, r) for (k, r) in MATRIX]
    head = "| permission | " + " | ".join(f"{k} {r}" for k, r in columns) + " |"
    rule = "|---|" + "---|" * len(columns)
    rows = [
        f"| `{p}` | " + " | ".join("x" if p in MATRIX[c] else "" for c in columns) + " |"
        for p in Permission
    ]
    return "\n".join([head, rule, *rows])
