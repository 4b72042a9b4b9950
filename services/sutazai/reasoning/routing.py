"""Which model serves which kind of step. Defaults come from configuration
(SUTAZAI_MODEL_ROUTES, e.g. {"synthesize": "qwen2.5:7b"}); an admin or, later, the learning
service may override them through the API, and overrides are stored in PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sutazai.lib.errors import ValidationFailed
from sutazai.lib.models import ModelBackend

ROUTED_KINDS = ("plan", "extract", "synthesize", "verify")


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

    def check(self, routes: Mapping[str, str]) -> dict[str, str]:
        """`routes` if every kind and model is known, else ValidationFailed saying which is not."""
        available = self._available()
        for kind, model in routes.items():
            if kind not in ROUTED_KINDS:
                raise ValidationFailed(f"unknown step kind {kind!r}; routed kinds are {', '.join(ROUTED_KINDS)}")
            if model not in available:
                raise ValidationFailed(f"model {model!r} is not available; available: {', '.join(available)}")
        return dict(routes)

    def update(self, routes: Mapping[str, str]) -> None:
        self._routes.update(self.check(routes))

    def by_name(self, name: str) -> ModelBackend:
        return self._default if name == self._default.chat_model else self._resolve(name)

    def __call__(self, kind: str) -> ModelBackend:
        return self.by_name(self._routes.get(kind, self._default.chat_model))
