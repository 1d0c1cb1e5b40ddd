"""Identity triggers: sign-up, sign-in, sessions, the business's settings, its people and the audit log."""

from __future__ import annotations

import json
import logging
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

import azure.durable_functions as df
from pydantic import TypeAdapter, ValidationError

from blueprints.identity import schemas
from shared import auth, html, lazy
from shared.errors import AppError, Unprocessable, validation_errors
from shared.etag import if_match, with_etag
from shared.http import PROBLEM_JSON, Request, Response, Router, UserRequest
from shared.pagination import PageQuery
from shared.triggers import Delivery, poison_queue, queue_handler, timer_handler

if TYPE_CHECKING:
    from blueprints.identity import password_links, service, sessions
    from shared.config import get_settings
else:  # loaded on first use (shared/lazy.py): indexing needs only the schemas
    password_links = lazy.module("blueprints.identity.password_links")
    service = lazy.module("blueprints.identity.service")
    sessions = lazy.module("blueprints.identity.sessions")
    get_settings = lazy.function("shared.config", "get_settings")

bp = df.Blueprint()
api = Router(bp, module="identity")
log = logging.getLogger(__name__)

REFRESH_COOKIE = "tradeops_refresh"
_COOKIE_PATH = "/api/v1/auth"

auth.register_authenticator(  # service loads on first sign-in
    lambda request, open_session: service.authenticate(request, open_session)
)


def _refresh_cookie(token: str, *, max_age: int) -> str:
    # httpOnly keeps it from scripts, Secure from plain HTTP, SameSite=Strict from other sites' requests.
    return f"{REFRESH_COOKIE}={token}; Path={_COOKIE_PATH}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"


def _tokens(pair: schemas.TokenPair, *, status: int = 200) -> Response:
    max_age = get_settings().session_max_days * 86400
    headers = {"Set-Cookie": _refresh_cookie(pair.refresh_token, max_age=max_age), "Cache-Control": "no-store"}
    return Response(pair, status=status, headers=headers)


def _problem(req: Request[Any, Any], error: AppError) -> Response:
    """An error answered without raising, so what the request recorded (rate-limit hits, audit) commits."""
    body = error.to_problem(instance=f"/api/{req.spec.route}", request_id=req.request_id)
    return Response(json.dumps(body).encode(), status=error.status, headers=error.headers, content_type=PROBLEM_JSON)


def _sign_in(req: Request[Any, Any], outcome: sessions.SignIn) -> Response:
    return _problem(req, outcome) if isinstance(outcome, AppError) else _tokens(outcome)


@api.post(
    "v1/auth/register",
    auth="anonymous",
    body=schemas.RegisterIn,
    response=schemas.TokenPair,
    summary="Create a business with you as its owner, signed in",
)
def register(req: Request[schemas.RegisterIn, None]) -> Response:
    """Sign-up: a tenant, its owner and their first session."""
    outcome = sessions.register(session=req.session, register_in=req.body, actor=req.actor)
    return _problem(req, outcome) if isinstance(outcome, AppError) else _tokens(outcome, status=201)


@api.post(
    "v1/auth/login",
    auth="anonymous",
    status=200,
    body=schemas.LoginIn,
    response=schemas.TokenPair,
    summary="Sign in with email and password",
)
def login(req: Request[schemas.LoginIn, None]) -> Response:
    """Password sign-in."""
    return _sign_in(req, sessions.login(session=req.session, login_in=req.body, actor=req.actor))


@api.post(
    "v1/auth/otp/start",
    auth="anonymous",
    status=202,
    body=schemas.OtpStartIn,
    response=schemas.OtpStarted,
    summary="Text a sign-in code to a phone (same answer for any number)",
)
def otp_start(req: Request[schemas.OtpStartIn, None]) -> schemas.OtpStarted:
    """Ask Twilio Verify for an SMS code."""
    return sessions.start_otp(session=req.session, otp_in=req.body, actor=req.actor)


@api.post(
    "v1/auth/otp/verify",
    auth="anonymous",
    status=200,
    body=schemas.OtpVerifyIn,
    response=schemas.TokenPair,
    summary="Sign in with the texted code",
)
def otp_verify(req: Request[schemas.OtpVerifyIn, None]) -> Response:
    """SMS-code sign-in."""
    return _sign_in(req, sessions.verify_otp(session=req.session, otp_in=req.body, actor=req.actor))


def _refresh_token_of(req: Request[Any, Any]) -> str | None:
    data = req.raw.get_body() or b""
    if data.strip():
        try:
            token = schemas.RefreshIn.model_validate_json(data).refresh_token
        except ValidationError as exc:
            raise Unprocessable("The body is not valid", errors=validation_errors(exc, location="body")) from exc
        if token:
            return token
    cookie = SimpleCookie()
    try:
        cookie.load(req.headers.get("cookie") or "")
    except Exception:  # a malformed Cookie header carries no token
        return None
    morsel = cookie.get(REFRESH_COOKIE)
    return morsel.value if morsel else None


@api.post(
    "v1/auth/refresh",
    auth="anonymous",
    status=200,
    response=schemas.TokenPair,
    summary="New tokens for a refresh token (body {refresh_token} or the cookie)",
)
def refresh(req: Request) -> Response:
    """Rotate the refresh token."""
    token = _refresh_token_of(req)
    return _sign_in(req, sessions.refresh(session=req.session, refresh_token=token, actor=req.actor))


@api.post("v1/auth/logout", status=204, idempotent=False, summary="End this session")
def logout(req: UserRequest) -> Response:
    """Sign out: the session's tokens stop working and the cookie is cleared."""
    sessions.logout(**req.writes)
    return Response(status=204, headers={"Set-Cookie": _refresh_cookie("", max_age=0)})


@api.post("v1/auth/logout-all", status=204, idempotent=False, summary="End every session of yours, this one too")
def logout_all(req: UserRequest) -> Response:
    """Sign out everywhere: every session's tokens stop working and this cookie is cleared."""
    sessions.logout_everywhere(**req.writes)
    return Response(status=204, headers={"Set-Cookie": _refresh_cookie("", max_age=0)})


@api.get("v1/me", response=schemas.Me, summary="The signed-in user, their business and permissions")
def me(req: UserRequest) -> schemas.Me:
    """Who am I."""
    return service.me(**req.reads)


@api.post(
    "v1/me/password",
    status=204,
    idempotent=False,
    body=schemas.PasswordChange,
    summary="Change your password (send the current one); your other sessions end",
)
def change_password(req: UserRequest[schemas.PasswordChange, None]) -> Response:
    """Change my password."""
    refused = sessions.change_password(**req.writes, change=req.body)
    return _problem(req, refused) if refused is not None else Response(status=204)


@api.get("v1/tenant", permission="tenant.read", response=schemas.TenantOut, summary="The business's settings")
def get_tenant(req: UserRequest) -> Response:
    """Read the settings, with their ETag."""
    tenant, version = service.get_tenant(**req.reads)
    return with_etag(tenant, version)


@api.patch(
    "v1/tenant",
    permission="tenant.manage",
    body=schemas.TenantPatch,
    response=schemas.TenantOut,
    summary="Change the business's settings (If-Match required)",
)
def update_tenant(req: UserRequest[schemas.TenantPatch, None]) -> Response:
    """Change settings."""
    expected = if_match(req)
    tenant, version = service.update_tenant(**req.writes, patch=req.body, expected=expected)
    return with_etag(tenant, version)


@api.get(
    "v1/users", permission="users.read", query=PageQuery, response=schemas.UserPage, summary="The business's people"
)
def list_users(req: UserRequest[None, PageQuery]) -> schemas.UserPage:
    """List users."""
    return service.list_users(**req.reads, query=req.query)


@api.post(
    "v1/users",
    permission="users.manage",
    body=schemas.UserInvite,
    response=schemas.UserOut,
    summary="Invite someone by email or phone with a role",
)
def invite_user(req: UserRequest[schemas.UserInvite, None]) -> Response:
    """Invite a user."""
    user = service.invite_user(**req.writes, invite=req.body)
    return with_etag(user, 1, status=201)


@api.get("v1/users/{user_id}", permission="users.read", response=schemas.UserOut, summary="One person, with its ETag")
def get_user(req: UserRequest) -> Response:
    """Read a user."""
    user, version = service.get_user_or_raise(**req.reads, user_id=req.uuid_param("user_id"))
    return with_etag(user, version)


@api.patch(
    "v1/users/{user_id}",
    permission="users.manage",
    body=schemas.UserPatch,
    response=schemas.UserOut,
    summary="Change a person's role, name or access (If-Match required)",
)
def update_user(req: UserRequest[schemas.UserPatch, None]) -> Response:
    """Change a user."""
    user_id = req.uuid_param("user_id")
    expected = if_match(req)
    user, version = service.update_user(**req.writes, user_id=user_id, patch=req.body, expected=expected)
    return with_etag(user, version)


@api.get(
    "v1/audit",
    permission="audit.read",
    query=schemas.AuditQuery,
    response=schemas.AuditPage,
    summary="The audit log, newest first, filtered by entity",
)
def list_audit(req: UserRequest[None, schemas.AuditQuery]) -> schemas.AuditPage:
    """Read the audit log."""
    return service.list_audit(**req.reads, query=req.query)


@timer_handler(bp, schedule="0 17 * * * *")
def identity_housekeeping() -> str:
    """Hourly: forget idempotency records past 24 h and sessions long ended, tenant by tenant."""
    return f"purged {service.housekeeping()} rows"


# --- password links: the emailed link to choose a first password (invitation) or a new one (reset) -----
HTML = html.CONTENT_TYPE
PASSWORD_LINK_PAGE = "v1/auth/password-links/{token}"
PAGE_ERRORS = {
    403: "Forged link (HTML page)",
    410: "Used, replaced or expired link (HTML page)",
    422: "Password not accepted (the HTML form again, saying why)",
}
PAGE_HEADERS = html.HEADERS
_PASSWORD = TypeAdapter(schemas.Password)


@api.post(
    "v1/users/{user_id}/invitation",
    permission="users.manage",
    status=201,
    response=schemas.InvitationOut,
    summary="Email a new invitation link to someone who has not chosen a password yet",
)
def resend_invitation(req: UserRequest) -> schemas.InvitationOut:
    """Resend an invitation (older links stop working)."""
    return password_links.resend(**req.writes, user_id=req.uuid_param("user_id"))


@api.post(
    "v1/auth/password-resets",
    auth="anonymous",
    status=202,
    body=schemas.ResetIn,
    response=schemas.ResetRequested,
    summary="Email a password reset link (same answer for any email)",
)
def request_password_reset(req: Request[schemas.ResetIn, None]) -> schemas.ResetRequested:
    """Forgot password."""
    return password_links.request_reset(session=req.session, email=req.body.email, actor=req.actor)


@api.post(
    "v1/auth/password-link-acceptances",
    auth="anonymous",
    status=200,
    body=schemas.PasswordLinkAccept,
    response=schemas.TokenPair,
    summary="Set a password with an emailed link's token, signed in",
)
def accept_password_link(req: Request[schemas.PasswordLinkAccept, None]) -> Response:
    """The PWA's way to use an invitation or reset link."""
    pair = password_links.accept(session=req.session, token=req.body.token, password=req.body.password, actor=req.actor)
    return _tokens(pair)


def _link_path(req: Request[Any, Any]) -> str:
    return f"/api/v1/auth/password-links/{req.route_params.get('token', '')}"


def _page_error(error: AppError) -> Response:
    return Response(
        password_links.error_page(error.detail), status=error.status, content_type=HTML, headers=PAGE_HEADERS
    )


@api.get(
    PASSWORD_LINK_PAGE,
    auth="anonymous",
    content_type=HTML,
    responses=PAGE_ERRORS,
    summary="An emailed link's page: choose a password (HTML, no JavaScript)",
)
def password_link_page(req: Request) -> Response:
    """Show the link's form."""
    try:
        opened = password_links.open_link(req.session, req.route_params.get("token", ""))
    except AppError as error:
        return _page_error(error)
    return Response(password_links.form_page(opened, action=_link_path(req)), content_type=HTML, headers=PAGE_HEADERS)


@api.post(
    PASSWORD_LINK_PAGE,
    auth="anonymous",
    status=200,
    body=schemas.PasswordLinkForm,
    body_format="form",
    max_body_bytes=8192,
    content_type=HTML,
    responses=PAGE_ERRORS,
    summary="An emailed link's form: set the password",
)
def password_link_form(req: Request[schemas.PasswordLinkForm, None]) -> Response:
    """Set the password from the page, or show the form again saying what is wrong."""
    token = req.route_params.get("token", "")
    try:
        opened = password_links.open_link(req.session, token, lock=True)
        problem = _password_problem(req.body)
        if problem:
            page = password_links.form_page(opened, action=_link_path(req), error=problem)
            return Response(page, status=422, content_type=HTML, headers=PAGE_HEADERS)
        password_links.set_password(req.session, opened, password=req.body.password, actor=req.actor)
    except AppError as error:
        return _page_error(error)
    return Response(password_links.done_page(opened), content_type=HTML, headers=PAGE_HEADERS)


def _password_problem(form: schemas.PasswordLinkForm) -> str | None:
    if form.password != form.password_confirm:
        return "The two passwords are not the same."
    try:
        _PASSWORD.validate_python(form.password)
    except ValidationError:
        return "Choose a password of 10 to 256 characters."
    return None


@queue_handler(bp, queue=schemas.PASSWORD_LINK_QUEUE, model=schemas.LinkTask)
def identity_password_link_email(task: password_links.LinkTask, delivery: Delivery) -> str:
    """Email one password link (transient SMTP errors retry through the queue)."""
    return f"password link email: {password_links.deliver(task)}"


@queue_handler(bp, queue=poison_queue(schemas.PASSWORD_LINK_QUEUE), model=schemas.LinkTask)
def identity_password_link_email_poison(task: password_links.LinkTask, delivery: Delivery) -> str:
    """A link email the queue gave up on: the link shows it failed."""
    return f"password link {task.link_id} gave up: {password_links.give_up(task)}"
