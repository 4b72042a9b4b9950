"""Typed route dependencies of the metacognition service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from sutazai.lib.deps import provide
from sutazai.metacognition.wiring import MetacognitionComponents

Metacognition = Annotated[MetacognitionComponents, Depends(provide(MetacognitionComponents))]
