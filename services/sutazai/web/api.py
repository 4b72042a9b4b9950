"""HTTP adapter of the web service: the sign-in session and the UI's pages and assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from sutazai.lib.access import Role
from sutazai.lib.errors import Unauthenticated
from sutazai.lib.security import SESSION_COOKIE
from sutazai.web.deps import Web

STATIC = Path(__file__).parent / "static"
router = APIRouter(prefix="/web/v1", tags=["web"])
pages = APIRouter()


class SignIn(BaseModel):
    api_key: str = Field(min_length=1, max_length=300, description="a SutazAI API key (szk_...)")


class Session(BaseModel):
    signed_in: bool = True
    subject: str | None = None
    role: Role | None = None
    collections: list[str] = Field(default_factory=list,
                                   description="collections this session may use; empty means all")
    expires_in: int | None = Field(default=None, description="seconds until the session ends")


def _secure(request: Request, web: Web) -> bool:
    configured = web.settings.secure_cookies
    if configured is not None:
        return configured
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


@router.post("/session", response_model=Session, summary="Sign in with an API key: sets an HttpOnly "
             "session cookie holding a short-lived token")
async def sign_in(body: SignIn, request: Request, response: Response, web: Web) -> Session:
    signed = await web.broker.sign_in(body.api_key)
    response.set_cookie(SESSION_COOKIE, signed.token, max_age=signed.expires_in, path="/",
                        httponly=True, samesite="strict", secure=_secure(request, web))
    response.headers["Cache-Control"] = "no-store"
    return Session(subject=signed.who["subject"], role=Role(signed.who["role"]),
                   collections=list(signed.who.get("collections") or []), expires_in=signed.expires_in)


@router.get("/session", response_model=Session, summary="Who this browser session belongs to "
            "(signed_in is false when there is no session or it has ended)")
async def current_session(request: Request, response: Response, web: Web) -> Session:
    response.headers["Cache-Control"] = "no-store"
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return Session(signed_in=False)
    try:
        who = await web.broker.who(token)
    except Unauthenticated:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return Session(signed_in=False)
    return Session(subject=who["subject"], role=Role(who["role"]), collections=list(who.get("collections") or []))


@router.delete("/session", status_code=204, summary="Sign out: revoke the session's token at identity "
               "(it stops working at once, wherever it is presented) and forget the cookie")
async def sign_out(request: Request, response: Response, web: Web) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await web.broker.sign_out(token)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


@pages.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@pages.get("/favicon.ico", include_in_schema=False)
async def favicon() -> FileResponse:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")
