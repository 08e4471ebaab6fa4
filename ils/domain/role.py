"""Who acts on an order: the tenant kind and the user's role (API.md "Health and identity").

An :class:`Actor` is the pair the permission matrix is keyed on. It is a value, not a user: the
service layer builds it from the authenticated session and passes it to the pure domain code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TenantKind(StrEnum):
    """The two kinds of tenant: a lab makes the lenses, a practice orders them."""

    LAB = "lab"
    PRACTICE = "practice"


class Role(StrEnum):
    """One role per user (API.md)."""

    ADMIN = "admin"
    ECP = "ecp"
    LAB_TECH = "lab_tech"
    ENGINEER = "engineer"
    SUPPLIER = "supplier"


@dataclass(frozen=True)
class Actor:
    """A user's tenant kind and role, as the permission matrix sees them."""

    tenant_kind: TenantKind
    role: Role
