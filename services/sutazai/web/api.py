"""HTTP adapter of the web service: the sign-in session and the UI's pages and assets."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, Field

from sutazai.lib.access import Role
from sutazai.lib.errors import Forbidden, SutazaiError, Unauthenticated, ValidationFailed
from sutazai.lib.security import CSRF_HEADER, SESSION_COOKIE
from sutazai.web.deps import Web
from sutazai.web.session import SignedIn

STATIC = Path(__file__).parent / "static"
router = APIRouter(prefix="/web/v1", tags=["web"])
pages = APIRouter()


class SignIn(BaseModel):
    api_key: str | None = Field(default=None, min_length=1, max_length=300,
                                description="a SutazAI API key (szk_...); or give username and password")
    username: str | None = Field(default=None, min_length=1, max_length=128)
    password: str | None = Field(default=None, min_length=1, max_length=256)


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class Session(BaseModel):
    signed_in: bool = True
    subject: str | None = None
    user: bool = Field(default=False, description="true when a user (not an API key) is signed in")
    role: Role | None = None
    collections: list[str] = Field(default_factory=list,
                                   description="collections this session may use; empty means all")
    expires_in: int | None = Field(default=None, description="seconds until the session ends")


def _secure(request: Request, web: Web) -> bool:
    configured = web.settings.secure_cookies
    if configured is not None:
        return configured
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _session(signed: SignedIn, request: Request, response: Response, web: Web) -> Session:
    response.set_cookie(SESSION_COOKIE, signed.token, max_age=signed.expires_in, path="/",
                        httponly=True, samesite="strict", secure=_secure(request, web))
    response.headers["Cache-Control"] = "no-store"
    return Session(subject=signed.who["subject"], role=Role(signed.who["role"]),
                   user=bool(signed.who.get("user_id")),
                   collections=list(signed.who.get("collections") or []), expires_in=signed.expires_in)


@router.post("/session", response_model=Session, summary="Sign in with a user name and password, or an "
             "API key: sets an HttpOnly session cookie holding a short-lived token")
async def sign_in(body: SignIn, request: Request, response: Response, web: Web) -> Session:
    if body.username and body.password:
        signed = await web.broker.sign_in_user(body.username, body.password)
    elif body.api_key:
        signed = await web.broker.sign_in(body.api_key)
    else:
        raise ValidationFailed("give a user name and password, or an API key")
    return _session(signed, request, response, web)


class SsoProvider(BaseModel):
    name: str
    label: str
    redirect: bool
    start_url: str | None = Field(default=None, description="where the browser goes to start (redirect providers)")


OIDC_STATE_COOKIE = "sutazai_oidc_state"


@router.get("/sso", response_model=list[SsoProvider], summary="Single sign-on providers for the sign-in page",
            openapi_extra={"security": []})
async def sso(web: Web) -> list[SsoProvider]:
    return [SsoProvider(**p, start_url="/web/v1/sso/oidc/start" if p["redirect"] else None)
            for p in await web.broker.providers()]


def _callback_url(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


@router.get("/sso/oidc/start", summary="Send the browser to the OpenID provider", status_code=302,
            response_class=RedirectResponse, openapi_extra={"security": []})
async def oidc_start(request: Request, web: Web) -> RedirectResponse:
    url = await web.broker.oidc_start(_callback_url(request))
    state = parse_qs(urlsplit(url).query).get("state", [""])[0]
    response = RedirectResponse(url, status_code=302)
    # bound to this browser: a callback whose state differs (a sign-in forced on it by someone else) is refused
    response.set_cookie(OIDC_STATE_COOKIE, hashlib.sha256(state.encode()).hexdigest(), max_age=600, path="/web/v1/sso",
                        httponly=True, samesite="lax", secure=_secure(request, web))
    return response


@router.get("/sso/oidc/callback", summary="Where the OpenID provider sends the browser back", status_code=302,
            response_class=RedirectResponse, openapi_extra={"security": []})
async def oidc_callback(request: Request, web: Web, code: Annotated[str, Query(max_length=2000)] = "",
                        state: Annotated[str, Query(max_length=4000)] = "",
                        error: Annotated[str | None, Query(max_length=500)] = None) -> RedirectResponse:
    expected = request.cookies.get(OIDC_STATE_COOKIE)
    problem = None
    if error:
        problem = f"the provider refused the sign-in: {error}"
    elif not code or not expected or hashlib.sha256(state.encode()).hexdigest() != expected:
        problem = "this sign-in was not started in this browser (or took longer than 10 minutes); try again"
    response = RedirectResponse("/?" + urlencode({"sso_error": problem}) if problem else "/", status_code=302)
    response.delete_cookie(OIDC_STATE_COOKIE, path="/web/v1/sso")
    if problem:
        return response
    try:
        signed = await web.broker.oidc_finish(code, state)
    except SutazaiError as exc:
        response.headers["location"] = "/?" + urlencode({"sso_error": exc.detail})
        return response
    _session(signed, request, response, web)
    return response


@router.put("/password", response_model=Session, summary="Change the signed-in user's password; every "
            "other session of the user ends, this one is renewed")
async def change_password(body: PasswordChange, request: Request, response: Response, web: Web) -> Session:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated("sign in first")
    if request.headers.get(CSRF_HEADER) != "1":
        raise Forbidden(f"a browser session may change things only with the header '{CSRF_HEADER}: 1'")
    signed = await web.broker.change_password(token, body.current_password, body.new_password)
    return _session(signed, request, response, web)


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
    return Session(subject=who["subject"], role=Role(who["role"]), user=bool(who.get("user_id")),
                   collections=list(who.get("collections") or []))


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
