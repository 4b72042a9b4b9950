"""All SQL of the metacognition service. Every function takes keyword-only arguments and the
connection to run on."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from sutazai.lib.db import typed

__all__ = ["Conn", "typed"]
Conn = AsyncConnection[dict[str, Any]]
