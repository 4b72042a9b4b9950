"""Typed route dependencies of the knowledge service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from sutazai.knowledge.graph.explorer import GraphExplorer
from sutazai.knowledge.wiring import KnowledgeComponents
from sutazai.lib.deps import provide

_components = provide(KnowledgeComponents)
Knowledge = Annotated[KnowledgeComponents, Depends(_components)]


def _explorer(knowledge: Knowledge) -> GraphExplorer:
    return knowledge.explorer


Explorer = Annotated[GraphExplorer, Depends(_explorer)]
