"""HTTP adapter of connectors: create, list, show (with the latest runs and their errors), sync
now, delete. Who may do what is the manager's rule; every change is audited as the caller."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request

from sutazai.knowledge.connectors.manager import ConnectorView, NewConnector, RunRow
from sutazai.knowledge.deps import Knowledge
from sutazai.lib.contracts import knowledge as contract
from sutazai.lib.contracts.knowledge import ConnectorIn, ConnectorKind, ConnectorOut, ConnectorRunOut
from sutazai.lib.deps import AdminPrincipal, CurrentPrincipal
from sutazai.lib.security import credential_from

router = APIRouter(prefix=contract.PREFIX, tags=["connectors"])
Ref = Annotated[str, "a connector's id or name"]


def run_out(run: RunRow) -> ConnectorRunOut:
    return ConnectorRunOut(id=str(run.id), trigger=run.trigger, requested_by=run.requested_by, state=run.state,
                           seen=run.seen, added=run.added, changed=run.changed, unchanged=run.unchanged,
                           deleted=run.deleted, failed=run.failed, errors=run.errors, error=run.error,
                           started_at=run.started_at, finished_at=run.finished_at)


def connector_out(view: ConnectorView, *, with_runs: bool = False) -> ConnectorOut:
    c = view.connector
    now = dt.datetime.now(dt.UTC)
    return ConnectorOut(id=str(c.id), name=c.name, kind=ConnectorKind(c.kind), collection=c.collection,
                        config=c.config, has_secret=c.secret is not None, every_seconds=c.every_seconds,
                        next_sync_at=c.next_sync_at, syncing=c.lease_until is not None and c.lease_until > now,
                        items=view.items, created_by=c.created_by, created_at=c.created_at,
                        last_run=run_out(view.runs[0]) if view.runs else None,
                        runs=[run_out(r) for r in view.runs] if with_runs else [])


@router.post("/connectors", response_model=ConnectorOut, status_code=201, summary="Connect a source (folder, "
             "Git repository, IMAP mailbox, intranet site) to a collection you administer; its first sync "
             "starts at once")
async def create_connector(body: ConnectorIn, request: Request, principal: AdminPrincipal,
                           knowledge: Knowledge) -> ConnectorOut:
    new = NewConnector(name=body.name, kind=body.kind.value, collection=body.collection, config=dict(body.config),
                       secret=body.secret, every_seconds=body.every_seconds)
    await knowledge.connectors.check(new, by=principal)
    await knowledge.audit.record(credential=credential_from(request), action="connector.create", target=body.name,
                                 detail={"kind": body.kind.value, "config": body.config,
                                         "every_seconds": body.every_seconds},
                                 collections=[body.collection])
    return connector_out(await knowledge.connectors.create(new, by=principal))


@router.get("/connectors", response_model=list[ConnectorOut], summary="Connectors of the collections you may "
            "use, with their last run")
async def list_connectors(principal: CurrentPrincipal, knowledge: Knowledge) -> list[ConnectorOut]:
    return [connector_out(v) for v in await knowledge.connectors.list(by=principal)]


@router.get("/connectors/{ref}", response_model=ConnectorOut, summary="One connector with its latest runs, "
            "their counts and errors")
async def get_connector(ref: Ref, principal: CurrentPrincipal, knowledge: Knowledge,
                        runs: Annotated[int, Query(ge=1, le=100)] = 10) -> ConnectorOut:
    return connector_out(await knowledge.connectors.view(ref, by=principal, runs=runs), with_runs=True)


@router.post("/connectors/{ref}/sync", response_model=ConnectorOut, status_code=202, summary="Sync now: the "
             "worker starts it within SUTAZAI_CONNECTOR_POLL_SECONDS; follow it with GET")
async def sync_connector(ref: Ref, request: Request, principal: AdminPrincipal,
                         knowledge: Knowledge) -> ConnectorOut:
    view = await knowledge.connectors.view(ref, by=principal)
    await knowledge.connectors.require_admin(view.connector, by=principal)
    await knowledge.audit.record(credential=credential_from(request), action="connector.sync",
                                 target=view.connector.name, collections=[view.connector.collection])
    return connector_out(await knowledge.connectors.request_sync(ref, by=principal), with_runs=True)


@router.delete("/connectors/{ref}", status_code=204, summary="Remove a connector; with documents=true also "
               "every document it synced")
async def delete_connector(ref: Ref, request: Request, principal: AdminPrincipal, knowledge: Knowledge,
                           documents: bool = False) -> None:
    view = await knowledge.connectors.view(ref, by=principal)
    await knowledge.connectors.require_admin(view.connector, by=principal)
    await knowledge.audit.record(credential=credential_from(request), action="connector.delete",
                                 target=view.connector.name, detail={"documents": documents},
                                 collections=[view.connector.collection])
    await knowledge.connectors.delete(ref, by=principal, documents=documents)
