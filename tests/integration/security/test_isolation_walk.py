"""Every route in /openapi.json, called with another tenant's ids, answers 4xx and never data.

Routes are discovered from the OpenAPI document (engineers add routes all the time), each path
and uuid query parameter filled with each of the victims' ids in turn, by two attackers: an admin
of a practice linked to the same lab, and an admin of another lab. Afterwards the victims' order,
event logs and audit trails are unchanged.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from ils.domain.access import TenantKind
from ils.runtime import Runtime
from tests.integration.conftest import World, login, make_party, order_body

MUTATING = {"post", "put", "patch", "delete"}
REFUSED = {400, 401, 403, 404, 405, 413, 415, 422}
#: Routes that end the attacker's own session: walked last would only add 401s.
SKIP = {("post", "/api/auth/logout")}
MARKER = "P-VICTIM-5512"


def _fills(spec: dict[str, Any], foreign: list[str]) -> list[tuple[dict[str, str], bool]]:
    """(parameter values, whether any carries a foreign id) for one operation's parameters."""
    choices: dict[str, list[tuple[str, bool]]] = {}
    for param in spec.get("parameters", []):
        schema = param.get("schema", {})
        if param["in"] == "path":
            if schema.get("enum"):
                choices[param["name"]] = [(str(schema["enum"][0]), False)]
            else:
                choices[param["name"]] = [(f, True) for f in foreign]
        elif param["in"] == "query" and schema.get("format") == "uuid":
            choices["?" + param["name"]] = [(f, True) for f in foreign]
    if not choices:
        return [({}, False)]
    names = list(choices)
    combos = itertools.product(*(choices[n] for n in names))
    # One foreign id at a time is enough: the same id in every slot of the route.
    out = []
    for combo in combos:
        ids = {v for v, is_foreign in combo if is_foreign}
        if len(ids) <= 1:
            out.append(({n: v for n, (v, _) in zip(names, combo, strict=True)}, bool(ids)))
    return out


async def _state(runtime: Runtime, order_id: str, tenants: list[str]) -> list[Any]:
    async with runtime.db.connection() as conn:
        order = await conn.fetchrow("SELECT status, version FROM orders WHERE id = $1", order_id)
        heads = await conn.fetch(
            "SELECT tenant_id, last_seq, audit_count FROM tenant_heads "
            "WHERE tenant_id = ANY($1::uuid[]) ORDER BY tenant_id",
            tenants,
        )
    return [dict(order), [dict(h) for h in heads]]


async def test_every_route_refuses_another_tenants_ids(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    body = order_body(world.lab.tenant_id, patient_ref=MARKER, clinical_notes="victim notes")
    made = await client.post("/api/orders", json=body, headers=world.practice.auth)
    assert made.status_code == 201, made.text
    order_id = made.json()["id"]
    foreign = [
        order_id,
        world.practice.tenant_id,
        world.practice.admin_id,
        world.lab.tenant_id,
        world.lab.admin_id,
    ]
    rival_lab = await make_party(runtime, client, TenantKind.LAB, "Rival Lab")
    attackers = {
        "linked practice": {
            "Authorization": f"Bearer {await login(client, world.other_practice.email)}"
        },
        "other lab": rival_lab.auth,
    }
    victims = [world.practice.tenant_id]
    before = await _state(runtime, order_id, victims)
    markers = [MARKER, "victim notes", world.practice.email]

    document = (await client.get("/openapi.json")).json()
    walked = 0
    leaks: list[str] = []
    for path, item in document["paths"].items():
        for method, spec in item.items():
            if method not in MUTATING | {"get"} or (method, path) in SKIP:
                continue
            for values, uses_foreign in _fills(spec, foreign):
                url = path
                query = {}
                for name, value in values.items():
                    if name.startswith("?"):
                        query[name[1:]] = value
                    else:
                        url = url.replace("{" + name + "}", value)
                for who, headers in attackers.items():
                    kwargs: dict[str, Any] = {"headers": headers, "params": query}
                    if method in MUTATING - {"delete"}:
                        kwargs["json"] = {}
                    response = await client.request(method.upper(), url, **kwargs)
                    walked += 1
                    text = response.text
                    if any(m in text for m in markers):
                        leaks.append(f"{who} {method} {url}: data leaked")
                    if uses_foreign and response.status_code not in REFUSED:
                        leaks.append(f"{who} {method} {url} {query}: {response.status_code}")
    print(f"walked {walked} requests over {len(document['paths'])} paths")
    assert walked > 20
    assert not leaks, "\n".join(leaks)
    assert await _state(runtime, order_id, victims) == before
    # The victim still sees their order (the walk changed nothing for them).
    mine = await client.get(f"/api/orders/{order_id}", headers=world.practice.auth)
    assert mine.status_code == 200 and mine.json()["patient_ref"] == MARKER
