"""Typed route dependencies of the web service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from sutazai.lib.deps import provide
from sutazai.web.wiring import WebComponents

Web = Annotated[WebComponents, Depends(provide(WebComponents))]
