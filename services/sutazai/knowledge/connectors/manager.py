"""What the API asks of connectors, with who may do what: an admin of a collection creates,
syncs and deletes the connectors that write into it; anyone who may use the collection sees
their status, runs and errors. A connector's secret is sealed at rest (Vault transit in Compose)
and never shown again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from psycopg.errors import UniqueViolation

from sutazai.knowledge.connectors.registry import Limits, checked_config, open_source
from sutazai.knowledge.ingest import Ingestor
from sutazai.knowledge.store import connectors as store
from sutazai.knowledge.store.connectors import ConnectorRow, RunRow
from sutazai.lib.access import Principal, check_collection_name
from sutazai.lib.db import Database
from sutazai.lib.errors import Conflict, Forbidden, NotFound, ValidationFailed
from sutazai.lib.field_crypto import FieldCipher

__all__ = ["ConnectorView", "Connectors", "NewConnector", "RunRow"]
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class ConnectorView:
    connector: ConnectorRow
    runs: list[RunRow]
    items: int


@dataclass(frozen=True)
class NewConnector:
    name: str
    kind: str
    collection: str
    config: dict[str, Any]
    secret: str | None = None
    every_seconds: int | None = None


class Connectors:
    def __init__(self, *, db: Database, ingestor: Ingestor, cipher: FieldCipher, limits: Limits) -> None:
        self._db, self._ingestor, self._cipher, self._limits = db, ingestor, cipher, limits

    async def check(self, new: NewConnector, *, by: Principal) -> dict[str, Any]:
        """The connector's config as it will be stored, once the caller may create it and the config
        can work (folders inside the allowed roots, hosts allowed, a secret where one is needed);
        else the error saying what to fix. Nothing is read from the source yet."""
        collection = check_collection_name(new.collection)
        if not by.administers([collection]):
            raise Forbidden(f"only an admin of collection {collection!r} may connect a source to it")
        if not _NAME.match(new.name):
            raise ValidationFailed("a connector's name is 1 to 63 lower-case letters, digits, '-' or '_', "
                                   "starting with a letter or digit")
        if new.every_seconds is not None and new.every_seconds < 60:
            raise ValidationFailed("a schedule syncs at most once a minute: every_seconds >= 60 (or none: on demand)")
        config = checked_config(new.kind, new.config).model_dump(mode="json")
        source = open_source(new.kind, config, secret=new.secret, limits=self._limits)  # checks roots and hosts
        source.close()
        return config

    async def create(self, new: NewConnector, *, by: Principal) -> ConnectorView:
        config = await self.check(new, by=by)
        collection = check_collection_name(new.collection)
        sealed = await self._cipher.seal(new.secret) if new.secret else None
        try:
            async with self._db.connection() as conn, conn.transaction():
                row = await store.insert_connector(conn=conn, name=new.name, kind=new.kind, collection=collection,
                                                   config=config, secret=sealed, every_seconds=new.every_seconds,
                                                   created_by=by.subject)
        except UniqueViolation as exc:
            raise Conflict(f"a connector named {new.name!r} exists already; choose another name") from exc
        return ConnectorView(connector=row, runs=[], items=0)

    async def _visible(self, ref: str, by: Principal) -> ConnectorRow:
        async with self._db.connection() as conn:
            row = await store.get_connector(conn=conn, ref=ref)
        if row is None or not by.may_use(row.collection):
            raise NotFound(f"no connector {ref!r}")
        return row

    async def _administered(self, ref: str, by: Principal) -> ConnectorRow:
        row = await self._visible(ref, by)
        await self.require_admin(row, by=by)
        return row

    @staticmethod
    async def require_admin(row: ConnectorRow, *, by: Principal) -> None:
        if not by.administers([row.collection]):
            raise Forbidden(f"only an admin of collection {row.collection!r} may change connector {row.name!r}")

    async def view(self, ref: str, *, by: Principal, runs: int = 10) -> ConnectorView:
        row = await self._visible(ref, by)
        async with self._db.connection() as conn:
            latest = await store.runs(conn=conn, connector_id=row.id, limit=runs)
            count = len(await store.items(conn=conn, connector_id=row.id))
        return ConnectorView(connector=row, runs=latest, items=count)

    async def list(self, *, by: Principal) -> list[ConnectorView]:
        async with self._db.connection() as conn:
            rows = await store.list_connectors(conn=conn, collections=by.usable)
            views = []
            for row in rows:
                latest = await store.runs(conn=conn, connector_id=row.id, limit=1)
                views.append(ConnectorView(connector=row, runs=latest,
                                           items=len(await store.items(conn=conn, connector_id=row.id))))
        return views

    async def request_sync(self, ref: str, *, by: Principal) -> ConnectorView:
        row = await self._administered(ref, by)
        async with self._db.connection() as conn:
            await store.request_sync(conn=conn, connector_id=row.id, by=by.subject)
        return await self.view(ref, by=by)

    async def delete(self, ref: str, *, by: Principal, documents: bool) -> ConnectorRow:
        """Remove the connector; with `documents`, also every document it synced."""
        row = await self._administered(ref, by)
        if documents:
            async with self._db.connection() as conn:
                synced = await store.items(conn=conn, connector_id=row.id)
            for item in synced.values():
                for document_id in item.document_ids:
                    try:
                        await self._ingestor.delete(document_id=str(document_id),
                                                    allowed=lambda c: c == row.collection)
                    except NotFound:
                        pass
        async with self._db.connection() as conn:
            await store.delete_connector(conn=conn, connector_id=row.id)
        return row
