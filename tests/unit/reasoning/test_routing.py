"""Per-request model routes: they apply to one request (and the tasks it starts) only."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from sutazai.lib.errors import ValidationFailed
from sutazai.lib.models import ModelBackend
from sutazai.reasoning.routing import ModelRouter


class FakeModel:
    """A fake backend that only has a name (the router never calls it)."""

    def __init__(self, name: str) -> None:
        self.chat_model = name


def router() -> tuple[ModelRouter, dict[str, Any]]:
    models = {name: FakeModel(name) for name in ("small", "large", "medium")}
    made = ModelRouter(default=cast(ModelBackend, models["small"]), available=lambda: list(models),
                       resolve=lambda name: cast(ModelBackend, models[name]), routes={"plan": "medium"})
    return made, models


def test_request_routes_win_inside_the_block_only() -> None:
    made, _ = router()
    with made.overriding({"synthesize": "large"}) as in_force:
        assert made("synthesize").chat_model == "large" and in_force["synthesize"] == "large"
        assert made("plan").chat_model == "medium" and made("extract").chat_model == "small"
    assert made("synthesize").chat_model == "small"


async def test_concurrent_requests_keep_their_own_routes() -> None:
    made, _ = router()
    seen: dict[str, str] = {}

    async def request(name: str, model: str) -> None:
        with made.overriding({"synthesize": model}):
            await asyncio.sleep(0.01)
            inner = asyncio.create_task(asyncio.sleep(0, result=made("synthesize").chat_model))
            seen[name] = await inner

    await asyncio.gather(request("a", "large"), request("b", "medium"), request("c", "small"))
    assert seen == {"a": "large", "b": "medium", "c": "small"}


@pytest.mark.parametrize(("routes", "message"), [({"synthesize": "huge"}, "model 'huge' is not available"),
                                                 ({"dream": "large"}, "unknown step kind 'dream'")])
def test_unknown_kinds_and_models_are_refused(routes: dict[str, str], message: str) -> None:
    made, _ = router()
    with pytest.raises(ValidationFailed, match=message), made.overriding(routes):
        pass
