"""The dispensing assistant and the lens catalog as use-cases.

Catalogs belong to labs: a lab's admin or supplier upserts its products; the lab's users read it.
A practice has no catalog of its own: it reads, and gets recommendations from, the catalog of a lab
it is linked to, named by ``lab_id`` (optional when the practice is linked to exactly one lab).
An unlinked or unknown lab answers 404, like any other tenant's object.

A recommendation reads the lab's catalog (an index cached per lab and catalog version) and the
lab's manufacturing model (``LabHistories``), then calls the pure recommender.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from ils.analytics.dispensing.catalog import COATINGS, CatalogIndex, query_words, upsert
from ils.analytics.dispensing.recommender import parse_request, recommend
from ils.db import audit, catalog
from ils.db.database import Conn, Database
from ils.domain.access import Permission, Principal, TenantKind
from ils.domain.lens import Frame, FrameType, Lens, LensType, Material
from ils.domain.order import OrderDraft
from ils.domain.rx import Rx
from ils.domain.validation import validate_order
from ils.errors import FieldIssue, NotFound, ValidationFailed
from ils.services.lab_history import LabHistories
from ils.services.ports import Clock

#: Order-validation codes that are about a complete order, not about the Rx a recommendation
#: reads: a recommendation may come before the PD, fitting height, frame or lens are known.
ORDER_ONLY_CODES = frozenset(
    {
        "pd-required",
        "seg-height-required",
        "seg-height-below-design-minimum",
        "frame-measurement-required",
        "frame-too-shallow",
        "due-date-past",
        "coating-duplicate",
    }
)
_PLACEHOLDER_DUE = date(2000, 1, 1)  # never checked: validate_order is given no ``today``


def refused_rx(rx: Rx, frame: Frame | None, lab_id: str) -> list[FieldIssue]:
    """The order validator's errors for this Rx and frame, leaving out order-only requirements.

    The Rx is checked as an order for a lens that needs no fitting height: occupational when
    it has an add (the add rules then apply to both eyes), single vision when it has none.
    """
    has_add = any(eye.add is not None for _, eye in rx.eyes())
    draft = OrderDraft(
        lab_id=UUID(lab_id),
        patient_ref="dispensing",
        due_date=_PLACEHOLDER_DUE,
        rx=rx,
        lens=Lens(
            type=LensType.OCCUPATIONAL if has_add else LensType.SINGLE_VISION,
            material=Material.CR39,
        ),
        frame=frame or Frame(type=FrameType.FULL_RIM),
    )
    return [i for i in validate_order(draft).errors if i.code not in ORDER_ONLY_CODES]


class CatalogIndexes:
    """One ``CatalogIndex`` per lab, rebuilt when the lab's catalog version changes."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, CatalogIndex]] = {}

    async def get(self, conn: Conn, lab_id: str) -> tuple[int, CatalogIndex]:
        version = await catalog.version(conn, lab_id)
        cached = self._entries.get(lab_id)
        if cached is not None and cached[0] == version:
            return cached
        products = await catalog.all_products(conn, lab_id) if version else []
        entry = (version, CatalogIndex(products))
        self._entries[lab_id] = entry
        return entry


class Dispensing:
    def __init__(self, db: Database, clock: Clock, histories: LabHistories | None = None) -> None:
        self.db = db
        self.indexes = CatalogIndexes()
        self.histories = histories or LabHistories(db, clock)

    async def upsert_products(
        self, principal: Principal, raws: Sequence[Mapping[str, Any]], now: datetime
    ) -> dict[str, Any]:
        """Bulk upsert by SKU into the caller's lab catalog: all products or none."""
        principal.require(Permission.CATALOG_WRITE)
        products = upsert({}, raws)  # refuses the whole batch on one bad product
        issues = [
            FieldIssue(f"/products/{i}/coatings/{j}", "coating-unknown", "|".join(COATINGS))
            for i, raw in enumerate(raws)
            for j, coating in enumerate(raw.get("coatings") or [])
            if coating.strip().lower() not in COATINGS
        ]
        if issues:
            raise ValidationFailed(issues)
        async with self.db.transaction() as conn:
            version = await catalog.upsert(conn, principal.tenant_id, list(products.values()), now)
            held = await catalog.currencies(conn, principal.tenant_id)
            if len(held) > 1:
                raise ValidationFailed(
                    [
                        FieldIssue(
                            "/products",
                            "currency-mismatch",
                            f"a catalog has one currency; this batch would mix {', '.join(held)}",
                        )
                    ]
                )
            details = {"products": len(products), "version": version}
            await audit.record(
                conn, principal.tenant_id, now, principal.user_id, "catalog.upserted", None, details
            )
        return {"upserted": len(products), "version": version}

    async def list_products(
        self,
        principal: Principal,
        lab_id: str | None,
        query: str,
        limit: int,
        cursor: str | None,
    ) -> dict[str, Any]:
        """A page of the catalog the caller may read, cheapest first, matching every query word."""
        principal.require(Permission.CATALOG_READ)
        after = None
        if cursor:
            try:
                after = catalog.decode_cursor(cursor)
            except (ValueError, TypeError, ArithmeticError):
                raise ValidationFailed(
                    [FieldIssue("/query/cursor", "cursor-invalid", "not a cursor from this API")]
                ) from None
        async with self.db.connection() as conn:
            lab = await catalog_owner(conn, principal, lab_id, "/query/lab_id")
            rows = await catalog.page(conn, lab, query_words(query), after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [p.as_api() for p in rows],
            "next_cursor": catalog.encode_cursor(rows[-1]) if more else None,
        }

    async def recommend(
        self,
        principal: Principal,
        lab_id: str | None,
        rx: Rx,
        frame: Frame | None,
        body: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Good/Better/Best from the chosen lab's catalog and history (API.md)."""
        principal.require(Permission.DISPENSING_USE)
        async with self.db.connection() as conn:
            lab = await catalog_owner(conn, principal, lab_id, "/lab_id")
            version, index = await self.indexes.get(conn, lab)
        issues = refused_rx(rx, frame, lab)
        if issues:
            raise ValidationFailed(issues, "the prescription is refused by order validation")
        request = parse_request(body)
        history = await self.histories.current(lab, {p.sku: p.design for p in index.products})
        answer = recommend(request, index, history.model)
        answer["lab_id"] = lab
        answer["catalog"] = {"version": version, "products": len(index)}
        answer["history"] = history.as_api()
        return answer

    async def close(self) -> None:
        await self.histories.close()


async def catalog_owner(conn: Conn, principal: Principal, lab_id: str | None, pointer: str) -> str:
    """The lab whose catalog the caller uses: its own lab, or a lab its practice is linked to."""
    if principal.tenant_kind is TenantKind.LAB:
        if lab_id is not None and lab_id != principal.tenant_id:
            raise NotFound("no such lab")
        return principal.tenant_id
    linked = await catalog.linked_labs(conn, principal.tenant_id)
    if lab_id is not None:
        if lab_id not in linked:
            raise NotFound("no such lab")
        return lab_id
    if len(linked) == 1:
        return linked[0]
    detail = (
        "this practice is not linked to any lab"
        if not linked
        else f"this practice is linked to {len(linked)} labs: say which with lab_id"
    )
    raise ValidationFailed([FieldIssue(pointer, "lab-required", detail)])
