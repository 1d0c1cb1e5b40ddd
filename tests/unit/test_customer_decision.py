"""What the shared customer decision holds exactly: the typed name and user agent as signed, the forms every
proposal page shows, and the customer-page routes' answers (HTML refusals with the error's status, 303 back)."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest

from shared import clock, customer_decision, customer_pages, html
from shared.errors import Gone, Unprocessable
from shared.proposal_lifecycle import Status


@pytest.fixture(autouse=True)
def _pinned_clock():
    clock.pin(clock.now().replace(microsecond=123_456))
    yield
    clock.unpin()


def test_a_signature_folds_the_typed_name_caps_it_and_the_user_agent_and_keeps_whole_seconds() -> None:
    form = {"name": "  Rosa \n\t Diaz  " + "x" * 300}
    reply = customer_decision.Reply(form=form, ip="203.0.113.9", user_agent="P" * 600)
    signed = customer_decision.signature(Status.ACCEPTED, reply)
    assert signed.name.startswith("Rosa Diaz x") and len(signed.name) == customer_decision.NAME_MAX == 200
    assert signed.user_agent == "P" * 500 and signed.ip == "203.0.113.9" and signed.status == Status.ACCEPTED
    assert signed.accepted_at == clock.now().replace(microsecond=0)


@pytest.mark.parametrize("form", [{}, {"name": ""}, {"name": " \n\t "}])
def test_a_signature_needs_a_typed_name(form: dict[str, str]) -> None:
    with pytest.raises(Unprocessable) as refused:
        customer_decision.signature(Status.ACCEPTED, customer_decision.Reply(form=form, ip=None, user_agent=None))
    assert refused.value.code == "name_required"


def test_an_empty_user_agent_is_stored_as_none() -> None:
    assert customer_decision.user_agent_of(None) is None and customer_decision.user_agent_of("") is None
    assert customer_decision.user_agent_of("Phone/1") == "Phone/1"


def test_the_forms_escape_the_action_and_post_the_decisions_the_answer_reads() -> None:
    action = '/api/x?a="><script>'
    accept = customer_decision.accept_form(action, "Choose <one>", "<fieldset>chosen</fieldset>")
    decline = customer_decision.decline_form(action)
    for form in (accept, decline):
        assert "<script>" not in form and 'action="/api/x?a=&quot;&gt;&lt;script&gt;"' in form
    assert "<h3>Choose &lt;one&gt;</h3><fieldset>chosen</fieldset>" in accept
    assert 'name="name"' in accept and 'name="decision" value="accept"' in accept
    assert 'name="reason"' in decline and 'name="decision" value="decline"' in decline


def _req(token: str) -> Any:
    return SimpleNamespace(route_params={"token": token})


def test_the_page_route_answers_html_or_the_refusal_with_its_status() -> None:
    refused = customer_pages.notice("Proposal not available")
    shown = customer_pages.page(lambda: "<p>the page</p>", refused)
    assert (shown.status, shown.body, shown.content_type) == (200, "<p>the page</p>", html.CONTENT_TYPE)
    assert shown.headers == html.HEADERS

    def expired() -> str:
        raise Gone("This proposal has expired; ask us for a new one", code="bid_expired")

    gone = customer_pages.page(expired, refused)
    assert gone.status == 410 and gone.content_type == html.CONTENT_TYPE and gone.headers == html.HEADERS
    assert "<h1>Proposal not available</h1>" in gone.body and "This proposal has expired" in gone.body


def test_the_answer_route_goes_back_to_the_page_with_303_and_refuses_as_html() -> None:
    path = customer_pages.token_path(_req("v1.abc.def"), "v1/bid-proposals/{token}")
    assert path == "/api/v1/bid-proposals/v1.abc.def"
    done = customer_pages.answered(lambda: None, customer_pages.notice("x"), path)
    assert done.status == 303 and done.headers == {"Location": path} and done.body is None

    def unanswered() -> None:
        raise Unprocessable("Choose to accept or decline", code="decision_required")

    refused = customer_pages.answered(unanswered, customer_pages.notice("Estimate not available"), path)
    assert refused.status == 422 and "Choose to accept or decline" in refused.body and "Location" not in refused.headers


def test_a_pdf_is_shown_inline_and_never_cached() -> None:
    served = customer_pages.pdf(b"%PDF-1.7", "proposal-7-r2-signed.pdf")
    assert served.content_type == "application/pdf" and served.body == b"%PDF-1.7"
    assert served.headers == {**html.HEADERS, "Content-Disposition": 'inline; filename="proposal-7-r2-signed.pdf"'}


@pytest.mark.parametrize("module", ["blueprints.estimates.proposal", "blueprints.bids.proposal"])
def test_each_desk_follows_the_conventions_the_shared_code_reads(module: str) -> None:
    desk = importlib.import_module(module).DESK
    assert hasattr(desk.revision, f"{desk.entity}_id")  # the revision names its record by `<entity>_id`
    assert desk.purposes[0] != desk.purposes[1] and desk.module.endswith("s")  # "Estimates are not enabled ..."
    assert all(action.startswith(f"{desk.module}.") for action in desk.actions)
