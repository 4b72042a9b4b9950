"""Improvement proposals and the settings they change: bounded changes (the abstention threshold,
model routes, the retrieval depth and fusion weights), never code, each with its evidence. Other
services (learning, for model routes) and this service (a threshold from the calibrator's held-out
labels; retrieval settings tuned on evaluation questions) propose; a platform admin
approves or rejects.

Approving is one step that cannot be half done: the proposal is locked and marked approved in
one transaction (a second admin approving at once waits, then finds it decided: 409), the
action goes to the audit log first, the change reaches where it acts (routes: the reasoning
service, which audits it too), and only then are the new settings version and the proposal's
`applied` status written, together. A crash in between leaves the proposal `approved` and no
version: nothing is half-applied, and `apply` (by any admin) finishes it; applying is idempotent.
Every settings version is kept, and any earlier one can be restored the same way."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from typing import Any, Protocol

from sutazai.lib.access import Principal
from sutazai.lib.clients.reasoning import ReasoningClient
from sutazai.lib.contracts import reasoning as reasoning_contract
from sutazai.lib.db import Database
from sutazai.lib.errors import (
    BadRequest,
    Conflict,
    DependencyUnavailable,
    Forbidden,
    NotFound,
    SutazaiError,
    ValidationFailed,
)
from sutazai.metacognition.retrieval_tuning import check_setting
from sutazai.metacognition.store import proposals as store
from sutazai.metacognition.store.proposals import ProposalRow, SettingsVersionRow

logger = logging.getLogger(__name__)
KINDS = ("routes", "abstain_below", "retrieval", "exemplars")
STEP_KINDS = ("plan", "extract", "synthesize", "verify")
THRESHOLD_BOUNDS = (0.0, 0.95)


def check_change(kind: str, change: dict[str, Any]) -> dict[str, Any]:
    """The change if it is within the declared bounds of its kind, else ValidationFailed."""
    if kind == "routes":
        routes = change.get("routes")
        if not isinstance(routes, dict) or not routes or set(change) != {"routes"}:
            raise ValidationFailed('a routes proposal changes {"routes": {"<step kind>": "<model>"}} and nothing else')
        for step_kind, model in routes.items():
            if step_kind not in STEP_KINDS:
                raise ValidationFailed(f"unknown step kind {step_kind!r}; the kinds are {', '.join(STEP_KINDS)}")
            if not isinstance(model, str) or not 0 < len(model) <= 200:
                raise ValidationFailed(f"the model for {step_kind!r} must be a model name")
        return change
    if kind == "abstain_below":
        value = change.get("abstain_below")
        low, high = THRESHOLD_BOUNDS
        if set(change) != {"abstain_below"} or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ValidationFailed(f'an abstain_below proposal changes {{"abstain_below": <{low:g} to {high:g}>}} '
                                   "and nothing else")
        return change
    if kind == "retrieval":
        if set(change) != {"retrieval"}:
            check_setting(None)  # raises, saying the shape
        return {"retrieval": check_setting(change["retrieval"])}
    raise ValidationFailed(f"proposals of kind {kind!r} are not accepted yet; the kinds are routes, abstain_below, "
                           "retrieval")


class Audit(Protocol):
    async def record(self, *, credential: str | None, action: str, target: str | None = None,
                     detail: dict[str, Any] | None = None, collections: list[str] | None = None) -> None: ...


class Routes(Protocol):
    """Where model routes act (the reasoning service)."""

    async def current(self, *, credential: str) -> dict[str, str]: ...

    async def put(self, *, routes: dict[str, str], credential: str) -> dict[str, str]: ...


class ReasoningRoutes:
    """Routes through the reasoning service's typed client, as the deciding admin."""

    def __init__(self, client: ReasoningClient) -> None:
        self._client = client

    async def _call(self, call: Awaitable[reasoning_contract.Routes]) -> dict[str, str]:
        try:
            return (await call).routes
        except (BadRequest, ValidationFailed) as exc:
            raise ValidationFailed(f"the reasoning service refused the routes: {exc.detail}") from exc
        except Forbidden as exc:
            raise Forbidden("changing model routes needs a platform admin") from exc
        except SutazaiError as exc:
            raise DependencyUnavailable(f"the reasoning service (model routes) could not be used: {exc.detail}") \
                from exc

    async def current(self, *, credential: str) -> dict[str, str]:
        return await self._call(self._client.routes(credential=credential))

    async def put(self, *, routes: dict[str, str], credential: str) -> dict[str, str]:
        return await self._call(self._client.put_routes(routes, credential=credential))


class Retrieval(Protocol):
    """Where the retrieval depth and fusion weights act (the reasoning service)."""

    async def current(self, *, credential: str) -> dict[str, Any]: ...

    async def put(self, *, retrieval: dict[str, Any], credential: str) -> dict[str, Any]: ...


class ProposalBook:
    """Proposals, decisions and settings versions; knows nothing of HTTP."""

    def __init__(self, *, db: Database, audit: Audit | None = None, routes: Routes | None = None,
                 retrieval: Retrieval | None = None, default_threshold: float = 0.5) -> None:
        self._db, self._audit, self._routes, self._default_threshold = db, audit, routes, default_threshold
        self._retrieval = retrieval

    async def propose(self, *, principal: Principal, kind: str, change: dict[str, Any], evidence: dict[str, Any],
                      rationale: str, source: str) -> ProposalRow:
        if kind not in KINDS:
            raise ValidationFailed(f"unknown kind {kind!r}; the kinds are {', '.join(KINDS)}")
        checked = check_change(kind, change)
        async with self._db.connection() as conn, conn.transaction():
            return await store.insert(conn=conn, kind=kind, change=checked, evidence=evidence, rationale=rationale,
                                      source=source, created_by=principal.subject)

    async def get(self, *, proposal_id: uuid.UUID) -> ProposalRow:
        async with self._db.connection() as conn:
            found = await store.get(conn=conn, proposal_id=proposal_id)
        if found is None:
            raise NotFound(f"no proposal {proposal_id}")
        return found

    async def recent(self, *, status: str | None, limit: int) -> list[ProposalRow]:
        async with self._db.connection() as conn:
            return await store.recent(conn=conn, status=status, limit=limit)

    # -- settings in force -------------------------------------------------------------------

    async def in_force(self) -> dict[str, Any]:
        """The settings this service governs as they are now: the newest version's, else the defaults."""
        async with self._db.connection() as conn:
            newest = await store.newest_version(conn=conn)
        if newest is None:
            return {"version": 0, "settings": {"abstain_below": self._default_threshold, "routes": None,
                                               "retrieval": None}}
        return {"version": newest.version, "settings": newest.settings}

    async def threshold(self) -> float:
        return float((await self.in_force())["settings"]["abstain_below"])

    async def versions(self, *, limit: int) -> list[SettingsVersionRow]:
        async with self._db.connection() as conn:
            return await store.versions(conn=conn, limit=limit)

    # -- deciding ------------------------------------------------------------------------------

    async def decide(self, *, principal: Principal, credential: str | None, proposal_id: uuid.UUID, approve: bool,
                     note: str | None) -> ProposalRow:
        """Approve (and apply) or reject a pending proposal; the audit log has who and why."""
        self._platform_admin(principal)
        async with self._db.connection() as conn, conn.transaction():
            found = await store.lock(conn=conn, proposal_id=proposal_id)
            if found is None:
                raise NotFound(f"no proposal {proposal_id}")
            if found.status != "pending":
                by = f" by {found.decided_by}" if found.decided_by else ""
                raise Conflict(f"proposal {proposal_id} is already {found.status}{by}; only a pending proposal "
                               "can be decided")
            await self._record(credential, "proposal.approve" if approve else "proposal.reject", proposal_id,
                               {"kind": found.kind, "change": found.change, "note": note})
            decided = await store.decide(conn=conn, proposal_id=proposal_id,
                                         status="approved" if approve else "rejected", decided_by=principal.subject,
                                         note=note)
        if not approve:
            return decided
        return await self.apply(principal=principal, credential=credential, proposal_id=proposal_id)

    async def apply(self, *, principal: Principal, credential: str | None, proposal_id: uuid.UUID) -> ProposalRow:
        """Put an approved proposal in force (again, after an interruption: idempotent)."""
        self._platform_admin(principal)
        proposal = await self.get(proposal_id=proposal_id)
        if proposal.status != "approved":
            raise Conflict(f"proposal {proposal_id} is {proposal.status}; only an approved proposal that was "
                           "not applied can be applied")
        current = (await self.in_force())["settings"]
        routes, retrieval = await self._snapshot(current, credential)  # every version holds the whole bundle
        wanted = {**current, **proposal.change, "routes": routes, "retrieval": retrieval}
        if proposal.kind == "routes":
            wanted["routes"] = {**(routes or {}), **proposal.change["routes"]}
        if proposal.kind == "retrieval":
            wanted["retrieval"] = proposal.change["retrieval"]
        try:
            wanted = await self._act(wanted, credential=credential, changed={proposal.kind})
        except SutazaiError as exc:
            async with self._db.connection() as conn, conn.transaction():
                failed = await store.mark(conn=conn, proposal_id=proposal_id, status="failed",
                                          note=f"not applied: {exc.detail}")
            logger.warning("proposal %s could not be applied: %s", proposal_id, exc.detail)
            return failed
        async with self._db.connection() as conn, conn.transaction():
            locked = await store.lock(conn=conn, proposal_id=proposal_id)
            if locked is None or locked.status != "approved":  # applied meanwhile by another admin
                raise Conflict(f"proposal {proposal_id} was {locked.status if locked else 'removed'} meanwhile")
            made = await store.insert_version(conn=conn, settings=wanted, proposal_id=proposal_id, restored_from=None,
                                              actor=principal.subject,
                                              reason=proposal.decision_note or proposal.rationale or "approved")
            applied = await store.mark(conn=conn, proposal_id=proposal_id, status="applied",
                                       applied_version=made.version)
        logger.info("proposal %s applied as settings version %s by %s", proposal_id, made.version,
                    principal.subject)
        return applied

    async def restore(self, *, principal: Principal, credential: str | None, version: int,
                      note: str) -> SettingsVersionRow:
        """Put an earlier settings version back in force, as a new version."""
        self._platform_admin(principal)
        if not note.strip():
            raise ValidationFailed("say why the settings are restored (note)")
        async with self._db.connection() as conn:
            earlier = await store.version(conn=conn, number=version)
        if earlier is None:
            raise NotFound(f"no settings version {version}; `sutazai meta versions` lists them")
        await self._record(credential, "settings.restore", None, {"version": version, "note": note})
        settings = await self._act(dict(earlier.settings), credential=credential, changed={"routes", "retrieval"})
        async with self._db.connection() as conn, conn.transaction():
            made = await store.insert_version(conn=conn, settings=settings, proposal_id=None, restored_from=version,
                                              actor=principal.subject, reason=note)
        logger.info("settings version %s restored as %s by %s", version, made.version, principal.subject)
        return made

    async def _act(self, settings: dict[str, Any], *, credential: str | None, changed: set[str]) -> dict[str, Any]:
        """Make the settings act where they act (routes and retrieval: the reasoning service); the
        settings as they now are."""
        if "routes" in changed and settings.get("routes") is not None:
            if self._routes is None or credential is None:
                raise DependencyUnavailable("model routes cannot be changed from here (no reasoning service)")
            settings = {**settings, "routes": await self._routes.put(routes=settings["routes"], credential=credential)}
        if "retrieval" in changed and settings.get("retrieval") is not None:
            if self._retrieval is None or credential is None:
                raise DependencyUnavailable("retrieval settings cannot be changed from here (no reasoning service)")
            settings = {**settings, "retrieval": await self._retrieval.put(retrieval=settings["retrieval"],
                                                                           credential=credential)}
        return settings

    async def _snapshot(self, known: dict[str, Any],
                        credential: str | None) -> tuple[dict[str, str] | None, dict[str, Any] | None]:
        """The routes and retrieval settings in force at the reasoning service (what the last
        version says when it cannot be asked)."""
        routes, retrieval = known.get("routes"), known.get("retrieval")
        if credential is None:
            return routes, retrieval
        try:
            if self._routes is not None:
                routes = await self._routes.current(credential=credential)
            if self._retrieval is not None:
                retrieval = await self._retrieval.current(credential=credential)
        except SutazaiError as exc:
            logger.warning("settings not read from the reasoning service (%s); the last version's are kept",
                           exc.detail)
        return routes, retrieval

    async def _record(self, credential: str | None, action: str, proposal_id: uuid.UUID | None,
                      detail: dict[str, Any]) -> None:
        if self._audit is not None:
            await self._audit.record(credential=credential, action=action,
                                     target=None if proposal_id is None else f"proposal:{proposal_id}", detail=detail)

    @staticmethod
    def _platform_admin(principal: Principal) -> None:
        if not principal.administers(None):
            raise Forbidden("deciding on proposals and restoring settings needs a platform admin")
