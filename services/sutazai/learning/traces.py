"""What learning may know of a reasoning trace: it asks the reasoning service with the caller's
own credential, so a trace the caller may not read is, to learning too, a trace that does not
exist."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sutazai.lib.errors import DependencyUnavailable, NotFound, Unauthenticated
from sutazai.lib.http_client import ResilientClient

TRACES_PATH = "/api/reasoning/v1/traces"


@dataclass(frozen=True)
class TraceRef:
    trace_id: uuid.UUID
    subject: str
    collection: str | None


class TraceReader:
    """Reads a trace through the reasoning service's HTTP API, as the caller."""

    def __init__(self, client: ResilientClient) -> None:
        self._client = client

    async def readable(self, *, trace_id: uuid.UUID, credential: str) -> TraceRef:
        """The trace, if it exists and the caller may read it; NotFound otherwise."""
        response = await self._client.request("GET", f"{TRACES_PATH}/{trace_id}",
                                              headers={"Authorization": f"Bearer {credential}"})
        if response.status_code == 404:
            raise NotFound(f"no trace {trace_id} that you may read; feedback needs the trace id of an "
                           "answer you were given (the `trace_id` of your ask)")
        if response.status_code == 401:
            raise Unauthenticated(response.json().get("detail") or "the credential was refused")
        if response.status_code != 200:
            raise DependencyUnavailable(f"reasoning service answered {response.status_code} for the trace")
        body = response.json()
        return TraceRef(trace_id=trace_id, subject=str(body["subject"]), collection=body.get("collection"))
