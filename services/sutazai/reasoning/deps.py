"""Typed route dependencies of the reasoning service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from sutazai.lib.deps import provide
from sutazai.reasoning.reasoner import Reasoner
from sutazai.reasoning.wiring import ReasoningComponents

_components = provide(ReasoningComponents)


def _reasoner(components: Annotated[ReasoningComponents, Depends(_components)]) -> Reasoner:
    return components.reasoner


ReasonerDep = Annotated[Reasoner, Depends(_reasoner)]
