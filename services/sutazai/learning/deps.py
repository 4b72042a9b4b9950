"""Typed route dependencies of the learning service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from sutazai.learning.wiring import LearningComponents
from sutazai.lib.deps import provide

Learning = Annotated[LearningComponents, Depends(provide(LearningComponents))]
