"""The model interface: chat, streaming, JSON-schema-constrained output and embeddings,
with an Ollama backend (production) and an in-process llama.cpp backend (embedded)."""

from sutazai.lib.models.interface import (
    ChatMessage,
    ChatResult,
    Embedder,
    EmbeddingKind,
    ModelBackend,
    StreamEnd,
)

__all__ = ["ChatMessage", "ChatResult", "Embedder", "EmbeddingKind", "ModelBackend", "StreamEnd"]
