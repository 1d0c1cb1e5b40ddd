"""The routes of a customer page behind a signed link, as every module answers them (the estimate and bid
proposals, the shop's inspection approval): the page, or a plain HTML page with the refusal's status (403
tampered, 404, 409 answered, 410 expired or updated, 422) rather than problem+json, since a person reads it; the
form's answer followed by a 303 back to the page; a PDF shown inline. None of them is cached or leaks its link.

A refusal is answered, not raised, so what the service recorded before refusing (a bid marked expired on read)
commits with it. Light on purpose: trigger modules import it at indexing (no database, no SDK).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared import html
from shared.errors import AppError
from shared.http import Request, Response


def token_of(req: Request[Any, Any]) -> str:
    """The signed link's token in the route."""
    return req.route_params.get("token", "")


def token_path(req: Request[Any, Any], route: str) -> str:
    """The path of the `{token}` route with this request's token: where the page's form posts, and the 303 goes."""
    return "/api/" + route.replace("{token}", token_of(req))


def html_response(page: str, *, status: int = 200) -> Response:
    """A customer page (never cached, no Referer)."""
    return Response(page, status=status, content_type=html.CONTENT_TYPE, headers=html.HEADERS)


def notice(title: str) -> Callable[[AppError], str]:
    """The refusal page that shows the error's message under title."""
    return lambda error: html.notice_page(title, error.detail)


def page(render: Callable[[], str], refused: Callable[[AppError], str]) -> Response:
    """The page render() builds, or the refused page with the error's status."""
    try:
        body = render()
    except AppError as error:
        return html_response(refused(error), status=error.status)
    return html_response(body)


def answered(record: Callable[[], object], refused: Callable[[AppError], str], location: str) -> Response:
    """Record the form's answer, then 303 to location (the page again); a refusal is its HTML page."""
    try:
        record()
    except AppError as error:
        return html_response(refused(error), status=error.status)
    return Response(None, status=303, headers={"Location": location})


def pdf(data: bytes, filename: str) -> Response:
    """A PDF shown inline under filename."""
    headers = {**html.HEADERS, "Content-Disposition": f'inline; filename="{filename}"'}
    return Response(data, content_type="application/pdf", headers=headers)
