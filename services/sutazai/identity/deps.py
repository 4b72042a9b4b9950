"""Typed route dependencies of the identity service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from sutazai.identity.wiring import IdentityComponents
from sutazai.lib.deps import provide

Identity = Annotated[IdentityComponents, Depends(provide(IdentityComponents))]
