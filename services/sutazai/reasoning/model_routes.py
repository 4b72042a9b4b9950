"""Which model serves which kind of step. Defaults come from configuration (SUTAZAI_MODEL_ROUTES,
e.g. {"synthesize": "qwen2.5:7b"}); an admin or, later, the learning service may override them
through the API, and overrides are kept by a `RouteStore` (PostgreSQL). The tools of the model
kinds (extract, synthesize) read their route on every call; the model planner reads "plan" and
the verify tool "verify" when they consult a model."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from sutazai.lib.db import Database
from sutazai.lib.errors import ValidationFailed
from sutazai.lib.models import ModelBackend
from sutazai.reasoning.store import routes as route_rows
from sutazai.reasoning.tools.base import MODEL_KINDS

ROUTED_KINDS = ("plan", *MODEL_KINDS, "verify")
_REQUEST_ROUTES: ContextVar[Mapping[str, str] | None] = ContextVar("request_routes", default=None)


@contextmanager
def pinned(kind: str, model: str | None) -> Iterator[None]:
    """Within the block (one step's task), steps of `kind` use `model` (an ensemble's sample);
    the model was checked when the request was."""
    if model is None:
        yield
        return
    token = _REQUEST_ROUTES.set({**(_REQUEST_ROUTES.get() or {}), kind: model})
    try:
        yield
    finally:
        _REQUEST_ROUTES.reset(token)


class RouteStore(Protocol):
    """Model routes and the other settings an admin sets at run time (retrieval)."""

    async def load(self) -> dict[str, str]: ...

    async def save(self, *, routes: dict[str, str], actor: str) -> None: ...

    async def load_setting(self, name: str) -> Any | None: ...

    async def save_setting(self, name: str, value: Any, *, actor: str) -> None: ...


class StoredRoutes:
    """RouteStore over PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self) -> dict[str, str]:
        async with self._db.connection() as conn:
            return await route_rows.list_routes(conn=conn)

    async def save(self, *, routes: dict[str, str], actor: str) -> None:
        async with self._db.connection() as conn, conn.transaction():
            await route_rows.save_routes(conn=conn, routes=routes, actor=actor)

    async def load_setting(self, name: str) -> Any | None:
        async with self._db.connection() as conn:
            return await route_rows.get_setting(conn=conn, name=name)

    async def save_setting(self, name: str, value: Any, *, actor: str) -> None:
        async with self._db.connection() as conn, conn.transaction():
            await route_rows.save_setting(conn=conn, name=name, value=value, actor=actor)


class ModelRouter:
    """Maps a step kind to a backend; names resolve through `resolve`, which builds (once) the
    backend for a model name on the configured host."""

    def __init__(self, *, default: ModelBackend, available: Callable[[], list[str]],
                 resolve: Callable[[str], ModelBackend], routes: Mapping[str, str]) -> None:
        self._default, self._available, self._resolve = default, available, resolve
        self._routes: dict[str, str] = {}
        self.update(routes)

    @property
    def default(self) -> ModelBackend:
        return self._default

    def models(self) -> list[str]:
        return self._available()

    def routes(self) -> dict[str, str]:
        """The model for every routed kind (configured, overridden or the default)."""
        return {kind: self._routes.get(kind, self._default.chat_model) for kind in ROUTED_KINDS}

    @contextmanager
    def overriding(self, routes: Mapping[str, str] | None) -> Iterator[dict[str, str]]:
        """Within the block (one request's task and the tasks it starts), `routes` take precedence
        over the routes in force; yields the routes that apply. Unknown kinds or models are refused."""
        token = _REQUEST_ROUTES.set(self.check(routes or {}))
        try:
            yield {kind: self._model_for(kind) for kind in ROUTED_KINDS}
        finally:
            _REQUEST_ROUTES.reset(token)

    def _model_for(self, kind: str) -> str:
        return (_REQUEST_ROUTES.get() or {}).get(kind) or self._routes.get(kind, self._default.chat_model)

    def check(self, routes: Mapping[str, str]) -> dict[str, str]:
        """`routes` if every kind and model is known, else ValidationFailed saying which is not."""
        available = self._available()
        for kind, model in routes.items():
            if kind not in ROUTED_KINDS:
                raise ValidationFailed(f"unknown step kind {kind!r}; routed kinds are {', '.join(ROUTED_KINDS)}")
            if model not in available:
                raise ValidationFailed(f"model {model!r} is not available; available: {', '.join(available)}")
        return dict(routes)

    def check_models(self, names: list[str] | tuple[str, ...]) -> None:
        """ValidationFailed unless every model named is available."""
        available = self._available()
        unknown = [n for n in names if n not in available]
        if unknown:
            raise ValidationFailed(f"model(s) {', '.join(map(repr, unknown))} not available; available: "
                                   f"{', '.join(available)}")

    def update(self, routes: Mapping[str, str]) -> None:
        self._routes.update(self.check(routes))

    def restore(self, saved: Mapping[str, str]) -> None:
        """Apply stored routes that still make sense (known kind, model still available)."""
        available = set(self._available())
        self._routes.update({k: v for k, v in saved.items() if k in ROUTED_KINDS and v in available})

    def by_name(self, name: str) -> ModelBackend:
        return self._default if name == self._default.chat_model else self._resolve(name)

    def __call__(self, kind: str) -> ModelBackend:
        return self.by_name(self._model_for(kind))
