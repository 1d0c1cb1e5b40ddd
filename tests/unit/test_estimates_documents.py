"""The proposal PDF and the customer's page: what they show, what they hide, and that they escape everything."""

from __future__ import annotations

import re
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from blueprints.estimates import documents, pricing, proposal, reading
from blueprints.estimates.schemas import (
    AddonOut,
    EstimateOut,
    Party,
    Proposal,
    RoomOut,
    Signed,
)
from shared import pdf
from tests.unit.test_estimates_pricing import BOOK, example_room

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def _text(data: bytes) -> str:
    """The text drawn in a PDF made by shared.pdf (its content streams, inflated)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S)
    return "".join(zlib.decompress(s).decode("latin-1") for s in streams if s[:1] == b"x")


def _proposal(*, show_cost_lines: bool = True, title: str = "Living <room>") -> Proposal:
    room = example_room()
    room_out = RoomOut(id=uuid.uuid4(), position=0, version=1, **room.model_dump())
    option = {"id": str(uuid.uuid4()), "name": "Better", "position": 0, "product_overrides": {}}
    estimate = EstimateOut(
        id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        title=title,
        status="sent",
        revision=1,
        currency="USD",
        created_at=NOW,
        updated_at=NOW,
        job_address="1 <Main> St",
        notes=None,
        discount_cents=0,
        rate_book_version=1,
        viewed_at=None,
        valid_until=NOW,
        version=1,
        rooms=[room_out],
        options=reading.price_options([room_out], [option], BOOK, 0),
        addons=[AddonOut(id=uuid.uuid4(), name="Deck <stain>", price_cents=9_900)],
        shares=[],
        revisions=[],
        acceptance=None,
    )
    return Proposal(
        estimate=estimate,
        revision=1,
        business_name="Pinpoint <b>Painting</b>",
        brand_colour="#aa3300",
        customer=Party(name="Rosa Díaz ✓"),
        estimator=Party(name="Ed"),
        terms="Net 30 & <no> surprises",
        show_cost_lines=show_cost_lines,
        deposit_percent=Decimal(30),
        sent_at=NOW,
        valid_until=NOW + timedelta(30),
    )


def test_the_proposal_shows_rooms_quantities_prices_terms_and_an_empty_acceptance_block() -> None:
    text = _text(documents.render(_proposal()))
    for expected in (
        "Pinpoint <b>Painting</b>",
        "Living room - walls",
        "365 sq ft",
        "$286.33",
        "Total, Better",
        "$461.33",
        "Deck <stain>",
        "$99.00",
        "Net 30",
        "Customer signature",
        "deposit of 30%",
        "Rosa Díaz ?",
    ):
        assert expected in text, expected


def test_cost_lines_are_hidden_when_the_business_says_so() -> None:
    text = _text(documents.render(_proposal(show_cost_lines=False)))
    assert "$461.33" in text and "$286.33" not in text and "365 sq ft" not in text


def test_the_signed_copy_fills_the_acceptance_block_and_hashes_differently() -> None:
    sent = _proposal()
    option_id = sent.estimate.options[0].id
    signed = Signed(
        option_id=option_id,
        addon_ids=[],
        name="Rosa Diaz",
        accepted_at=NOW,
        ip="203.0.113.9",
        user_agent="Phone/1.0",
        total_cents=46_133,
    )
    blank, filled = documents.render(sent), documents.render(sent, signed)
    assert "/s/ Rosa Diaz" in _text(filled) and "203.0.113.9" in _text(filled)
    assert documents.sha256(blank) != documents.sha256(filled)
    assert documents.render(sent) == blank  # the same revision renders the same bytes


def test_colours_and_text_outside_latin1_never_fail_a_document() -> None:
    assert pdf.rgb("#1F6FEB") == (31, 111, 235) and pdf.rgb("javascript:") == pdf.rgb(None)
    assert pdf.latin1("Crème “brûlée” — ✓") == 'Crème "brûlée" - ?'


def test_the_customer_page_escapes_everything_and_needs_no_script() -> None:
    sent = _proposal(title="<script>alert(1)</script>")
    opened = SimpleNamespace(
        proposal=sent,
        estimate=SimpleNamespace(tenant_id=uuid.uuid4(), status="viewed", valid_until=NOW + timedelta(30)),
        revision=SimpleNamespace(id=uuid.uuid4()),
    )
    page = proposal._page(opened, action='/api/x?a="><b>')  # type: ignore[arg-type]
    assert "<script" not in page.lower() and "<b>" not in page and "&lt;script&gt;" in page
    assert "Deck &lt;stain&gt;" in page and 'name="viewport"' in page and "$461.33" in page
    assert 'type="radio" name="option"' in page and 'name="name"' in page


def test_line_rounding_happens_once_per_line() -> None:
    lines = pricing.price_option([(uuid.uuid4(), example_room())], BOOK).surfaces
    assert [line.labour_cents for line in lines] == [21_353, 7_280]  # 213.525 -> 213.53, 72.80
