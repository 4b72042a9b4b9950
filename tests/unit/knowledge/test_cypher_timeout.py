"""An admin's Cypher ends at its own timeout_ms even when the graph server does not stop it
(the review saw a 12 s read with timeout_ms 1000)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sutazai.knowledge.graph.explorer import GraphExplorer
from sutazai.lib.access import Principal, Role
from sutazai.lib.errors import BudgetExhausted


class SlowGraphFake:
    """Fake graph store (interface boundary): its read takes far longer than asked."""

    async def read_only(self, collection: str, query: str, params: dict[str, Any], *,  # noqa: ARG002
                        timeout_ms: int) -> tuple[list[str], list[list[Any]]]:  # noqa: ARG002
        await asyncio.sleep(30)
        return [], []


async def test_a_read_past_its_timeout_is_stopped() -> None:
    explorer = GraphExplorer(db=None, graph=SlowGraphFake(), passages=None)  # type: ignore[arg-type]
    admin = Principal(subject="key:a", role=Role.admin, credential="api_key")
    with pytest.raises(BudgetExhausted, match="timeout_ms of 200"):
        await explorer.cypher(principal=admin, collection="default", query="MATCH (n) RETURN n", parameters={},
                              timeout_ms=200)
