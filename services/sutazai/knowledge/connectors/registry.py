"""The kinds of connector, their configuration models, and how a stored connector becomes a
source to read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sutazai.knowledge.connectors.base import ConfigInvalid, Source
from sutazai.knowledge.connectors.folder import FolderConfig, FolderSource
from sutazai.knowledge.connectors.git import GitConfig, GitSource
from sutazai.knowledge.connectors.imap import ImapConfig, ImapSource
from sutazai.knowledge.connectors.web import WebConfig, WebSource

CONFIGS: dict[str, type[BaseModel]] = {"folder": FolderConfig, "git": GitConfig, "imap": ImapConfig,
                                       "web": WebConfig}


@dataclass(frozen=True)
class Limits:
    """What the operator allows connectors: folders they may read, hosts they may reach, where Git
    mirrors are kept, and the size of one document."""

    roots: Sequence[str]
    hosts: Sequence[str]
    cache: Path
    max_bytes: int


def checked_config(kind: str, config: dict[str, Any]) -> BaseModel:
    model = CONFIGS.get(kind)
    if model is None:
        raise ConfigInvalid(f"unknown connector kind {kind!r}; one of: {', '.join(CONFIGS)}")
    try:
        return model.model_validate(config)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors())
        raise ConfigInvalid(f"the {kind} connector's config is invalid: {problems}") from exc


def open_source(kind: str, config: dict[str, Any], *, secret: str | None, limits: Limits) -> Source:
    """The source a connector reads (constructing it checks the folder, host and credential rules
    without reading anything yet). Raises ConfigInvalid."""
    parsed = checked_config(kind, config)
    if isinstance(parsed, FolderConfig):
        return FolderSource(parsed, roots=limits.roots, max_bytes=limits.max_bytes)
    if isinstance(parsed, GitConfig):
        return GitSource(parsed, roots=limits.roots, hosts=limits.hosts, cache=limits.cache, secret=secret,
                         max_bytes=limits.max_bytes)
    if isinstance(parsed, ImapConfig):
        return ImapSource(parsed, hosts=limits.hosts, secret=secret, max_bytes=limits.max_bytes)
    assert isinstance(parsed, WebConfig)  # noqa: S101 - CONFIGS names four kinds
    return WebSource(parsed, hosts=limits.hosts, max_bytes=limits.max_bytes)
