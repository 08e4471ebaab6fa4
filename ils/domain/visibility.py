"""Who may see which events: one rule for the REST timeline and the real-time stream.

Tenant isolation is structural (every tenant has its own event log); inside a tenant, a user sees
the events of the topics their role's permissions cover.
"""

from __future__ import annotations

from ils.domain.access import Permission, Principal
from ils.domain.event import Topic

TOPIC_PERMISSION: dict[Topic, Permission] = {
    Topic.ORDERS: Permission.ORDERS_READ,
    Topic.STATIONS: Permission.LAB_READ,
    Topic.ALERTS: Permission.LAB_READ,
    Topic.METRICS: Permission.ANALYTICS_READ,
}


def visible_topics(principal: Principal) -> frozenset[Topic]:
    return frozenset(t for t, p in TOPIC_PERMISSION.items() if principal.can(p))


def may_see(principal: Principal, tenant_id: str, topic: Topic | str) -> bool:
    return tenant_id == principal.tenant_id and Topic(topic) in visible_topics(principal)
