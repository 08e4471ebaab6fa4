"""The permission matrix, the README's copy of it, the password policy and error pickling."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from ils.domain.access import MATRIX, Permission, Principal, matrix_markdown, permissions_of
from ils.domain.password import password_issues
from ils.domain.role import Role, TenantKind
from ils.errors import FieldIssue, Forbidden, InvalidTransition, RateLimited, ValidationFailed

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_shows_the_matrix_the_code_enforces() -> None:
    assert matrix_markdown() in README.read_text()


def test_only_practices_place_orders_and_suppliers_only_touch_the_catalog() -> None:
    creators = {key for key, perms in MATRIX.items() if Permission.ORDERS_CREATE in perms}
    assert creators == {(TenantKind.PRACTICE, Role.ADMIN), (TenantKind.PRACTICE, Role.ECP)}
    assert permissions_of(TenantKind.LAB, Role.SUPPLIER) == {
        Permission.CATALOG_READ,
        Permission.CATALOG_WRITE,
    }
    assert permissions_of(TenantKind.PRACTICE, Role.LAB_TECH) == frozenset()


def test_principal_require_raises_forbidden() -> None:
    tech = Principal("u", "t", TenantKind.LAB, Role.LAB_TECH)
    tech.require(Permission.QC_WRITE)
    with pytest.raises(Forbidden):
        tech.require(Permission.USERS_MANAGE)


@pytest.mark.parametrize(
    ("password", "codes"),
    [
        ("Correct-Horse-42!", set()),
        ("short1!A", {"password-too-short"}),
        ("alllowercase-123", {"password-needs-upper"}),
        ("ALLUPPERCASE-123", {"password-needs-lower"}),
        ("No-Digits-Here!!", {"password-needs-digit"}),
        ("NoSymbols12345ab", {"password-needs-symbol"}),
        ("A1!" + "a" * 300, {"password-too-long"}),
    ],
)
def test_password_policy(password: str, codes: set[str]) -> None:
    assert {i.code for i in password_issues(password)} == codes


def test_errors_survive_pickling_as_ray_reraises_them() -> None:
    errors = [
        ValidationFailed([FieldIssue("/rx/od/axis", "axis-required", "axis is required")]),
        InvalidTransition("no", allowed=["cancelled", "on_hold"]),
        RateLimited("slow down", retry_after=7),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert copy.problem("/x") == error.problem("/x")
        assert copy.headers() == error.headers()
