"""Where ILS's actors live: one Ray namespace, each actor found by its name.

Every long-lived actor (a tenant's room, a station, a lab's models, the background loops) is
named and detached: the first process that asks for it creates it, any later one in the cluster
finds the same actor, and it outlives the process that asked first (an api replica that Serve
replaced, ``ils up``). Restarts after a crash come from each class's own ``max_restarts``.
"""

from __future__ import annotations

from typing import Any

NAMESPACE = "ils"


def named_actor(actor_class: Any, name: str, *args: Any, **options: Any) -> Any:
    """The actor called ``name``, created on first use with ``args`` (and Ray ``options``)."""
    return actor_class.options(
        name=name, namespace=NAMESPACE, get_if_exists=True, lifetime="detached", **options
    ).remote(*args)
