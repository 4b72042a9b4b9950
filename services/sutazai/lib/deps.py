"""Route dependencies every service shares: its typed components (the one object its lifespan
stores), the authenticated caller, and role checks. Each service's `deps.py` builds its own
typed aliases from `provide`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request

from sutazai.lib.access import Principal, Role
from sutazai.lib.errors import DependencyUnavailable, Forbidden
from sutazai.lib.security import credential_from
from sutazai.lib.service_app import COMPONENTS
from sutazai.lib.wiring import ServiceComponents

C = TypeVar("C")


def components_of(app: FastAPI, kind: type[C]) -> C:
    """The components the app's lifespan built, checked to be of `kind`."""
    found: Any = getattr(app.state, COMPONENTS, None)
    if found is None:
        raise DependencyUnavailable("the service is still starting; try again in a moment", retry_after=2)
    if not isinstance(found, kind):
        raise TypeError(f"{app.title} holds {type(found).__name__}, not {kind.__name__}")
    return found


def provide(kind: type[C]) -> Callable[[Request], C]:
    """A dependency that yields the service's components of type `kind`."""

    def dependency(request: Request) -> C:
        return components_of(request.app, kind)

    dependency.__name__ = f"get_{kind.__name__}"
    return dependency


async def require_principal(request: Request) -> Principal:
    """The authenticated caller, or a 401 problem."""
    components = components_of(request.app, ServiceComponents)
    # limits are counted where a request first arrives; identity's whoami answers the other
    # services' introspection (all from their own address), which have counted the request already
    introspection = request.url.path.endswith("/whoami") and request.headers.get("x-sutazai-introspection") == "1"
    address = request.client.host if request.client else None
    principal = await components.authenticator.authenticate(credential_from(request), address=address,
                                                            limited=not introspection)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency factory: the caller must hold one of `roles`."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this action needs role {allowed}; your credential has {principal.role.value}")
        return principal

    check.sutazai_roles = tuple(r.value for r in roles)  # type: ignore[attr-defined]  # read by the OpenAPI
    return check


AdminPrincipal = Annotated[Principal, Depends(require_role(Role.admin))]
"""An admin, possibly limited to some collections: what it manages must lie within its scope."""


async def require_platform_admin(principal: AdminPrincipal) -> Principal:
    """An admin limited to no collection: the only kind that may change platform-wide settings."""
    if not principal.administers(None):
        mine = ", ".join(principal.administered or []) or "no collection"
        raise Forbidden("this changes the whole platform and needs an admin credential for every collection; "
                        f"yours administers {mine}")
    return principal


require_platform_admin.sutazai_unrestricted = True  # type: ignore[attr-defined]  # read by the OpenAPI
PlatformAdmin = Annotated[Principal, Depends(require_platform_admin)]
