"""The CLI's HTTP client for a running SutazAI: where it is and which key to use."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from sutazai.lib.errors import SutazaiError


class CliError(SutazaiError):
    """A one-line problem the CLI reports to the user."""


def base_url(url: str | None, data_dir: Path | None) -> str:
    if url:
        return url.rstrip("/")
    from sutazai.runtime.stack import Stack, resolve_data_dir

    state = Stack(resolve_data_dir(data_dir)).state()
    return state.url if state else "http://127.0.0.1:8080"


def api_client(url: str, key: str | None, *, timeout: float = 120) -> httpx.Client:
    key = key or os.environ.get("SUTAZAI_API_KEY")
    if not key:
        raise CliError("no API key: pass --key or set SUTAZAI_API_KEY (create one with "
                       "`sutazai admin create-key`)")
    # A proxy from the environment is for reaching other hosts; this machine's own stack never goes through one.
    loopback = httpx.URL(url).host in ("127.0.0.1", "localhost", "::1", "[::1]")
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout,
                        trust_env=not loopback)


def problem_of(response: httpx.Response) -> str:
    try:
        body: dict[str, Any] = response.json()
        return str(body.get("detail") or body)
    except ValueError:
        return f"HTTP {response.status_code}"


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        return client.request(method, path, **kwargs)
    except httpx.ConnectError as exc:
        raise CliError(f"SutazAI is not reachable at {client.base_url} ({exc}); is it running? "
                       "(`sutazai status`)") from exc
