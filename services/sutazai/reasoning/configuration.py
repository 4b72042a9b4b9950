"""What an admin sets for the reasoning service while it runs: which model serves each kind of
step (routes) and how deep and how weighted retrieval is. Both are stored (every instance reads
the same), and every change is recorded in the audit log before it is made."""

from __future__ import annotations

from typing import Any, Protocol

from sutazai.reasoning.model_routes import ModelRouter, RouteStore
from sutazai.reasoning.planning import RetrievalSettings

RETRIEVAL = "retrieval"
"""The name the retrieval settings are kept under."""


class AuditRecorder(Protocol):
    """Where security-relevant changes are recorded (identity's audit log, as the caller)."""

    async def record(self, *, credential: str | None, action: str, target: str | None = None,
                     detail: dict[str, Any] | None = None, collections: list[str] | None = None) -> None: ...



class Configuration:
    def __init__(self, *, routes: RouteStore, router: ModelRouter, audit: AuditRecorder | None) -> None:
        self._routes, self._router, self._audit = routes, router, audit

    async def retrieval(self) -> RetrievalSettings:
        """The retrieval settings in force (read each time: every instance agrees at once)."""
        stored = await self._routes.load_setting(RETRIEVAL)
        if not isinstance(stored, dict):
            return RetrievalSettings()
        weights = stored.get("weights") or {}
        return RetrievalSettings(depth=int(stored.get("depth", 4)), keyword=float(weights.get("keyword", 1.0)),
                                 vector=float(weights.get("vector", 1.0)))

    async def set_retrieval(self, *, settings: RetrievalSettings, actor: str,
                            credential: str | None = None) -> RetrievalSettings:
        """Change the retrieval depth and fusion weights; audited first (no record, no change)."""
        if self._audit is not None:
            await self._audit.record(credential=credential, action="retrieval_settings.update", target="reasoning",
                                     detail={"retrieval": settings.to_dict(),
                                             "before": (await self.retrieval()).to_dict()})
        await self._routes.save_setting(RETRIEVAL, settings.to_dict(), actor=actor)
        return await self.retrieval()

    async def load_routes(self) -> None:
        self._router.restore(await self._routes.load())

    async def set_routes(self, *, routes: dict[str, str], actor: str, credential: str | None = None) -> dict[str, str]:
        """Route step kinds to models; recorded in the audit log first (no record, no change)."""
        checked = self._router.check(routes)
        if self._audit is not None:
            await self._audit.record(credential=credential, action="model_routes.update", target="reasoning",
                                     detail={"routes": checked, "before": self._router.routes()})
        await self._routes.save(routes=checked, actor=actor)
        self._router.update(checked)
        return self._router.routes()
