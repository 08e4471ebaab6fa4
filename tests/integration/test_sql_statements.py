"""Every SQL statement in ils/db prepares against the migrated schema (STYLE.md rule 5)."""

from __future__ import annotations

import importlib
import pkgutil
import re

import ils.db
from ils.runtime import Runtime

_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)
#: Constants that are pieces of statements, not statements (a WITH prefix, a column list).
_FRAGMENT_SUFFIXES = ("_CTE", "_COLUMNS")


def statements() -> list[tuple[str, str]]:
    found = []
    for info in pkgutil.iter_modules(ils.db.__path__):
        module = importlib.import_module(f"ils.db.{info.name}")
        for name, value in vars(module).items():
            fragment = name.endswith(_FRAGMENT_SUFFIXES)
            if name.isupper() and not fragment and isinstance(value, str) and _SQL.match(value):
                found.append((f"{info.name}.{name}", value))
    return sorted(found)


def test_the_statements_are_found() -> None:
    names = {name for name, _ in statements()}
    assert {"events.INSERT_EVENTS", "orders.INSERT_ORDER", "identity.SELECT_BY_ACCESS"} <= names


async def test_every_statement_prepares(runtime: Runtime) -> None:
    failures = []
    async with runtime.db.connection() as conn:
        for name, sql in statements():
            try:
                await conn.prepare(sql)
            except Exception as exc:  # collect them all: one report lists every broken statement
                failures.append(f"{name}: {exc}")
    assert failures == []
