"""The bid proposal PDF and the customer's page text: what they show (licence, number, scope, fixtures,
inclusions, exclusions, alternates with prices, allowances, unit prices, terms, validity, the signature)."""

from __future__ import annotations

import re
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from blueprints.bids import bid_documents, pricing
from blueprints.bids.bid_schemas import (
    AllowanceIn,
    AlternateIn,
    BidContent,
    BidProposal,
    LineIn,
    Party,
    PriceBookBody,
    UnitPriceIn,
)
from blueprints.bids.proposal import locked_totals

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def _text(data: bytes) -> str:
    """The text drawn in a PDF made by shared.pdf (its content streams, inflated)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S)
    return "".join(zlib.decompress(s).decode("latin-1") for s in streams if s[:1] == b"x")


def _proposal() -> BidProposal:
    content = BidContent(
        title="Riverside Clinic",
        scope="Plumbing for the clinic per the plan set.",
        lines=[LineIn(fixture_type="water_closet", quantity=Decimal(4)), LineIn(fixture_type="lavatory", quantity=2)],
        alternates=[AlternateIn(name="Add a water heater", lines=[LineIn(fixture_type="water_heater", quantity=1)])],
        allowances=[AllowanceIn(name="Owner fixtures", amount_cents=100_000)],
        unit_prices=[UnitPriceIn(description="Extra hose bibb", price_cents=45_000)],
        inclusions=["Rough-in and trim"],
        exclusions=["Trenching"],
    )
    book = PriceBookBody()
    return BidProposal(
        bid_id=uuid.uuid4(),
        number="P-00042",
        revision=2,
        business_name="PipelineOS Plumbing",
        brand_colour="#114477",
        licence_number="M-40123",
        customer=Party(name="Rosa Diaz"),
        estimator=Party(name="Ed Estimator"),
        project_name="Riverside Clinic",
        address="12 River Rd",
        currency="USD",
        content=content,
        priced=pricing.price_bid(content, book),
        payment_terms="Half on acceptance.",
        sent_at=NOW,
        valid_until=NOW + timedelta(days=30),
    )


def test_the_proposal_shows_every_part_the_issue_names() -> None:
    proposal = _proposal()
    text = _text(bid_documents.render(proposal))
    for part in (
        "M-40123",
        "P-00042, revision 2",
        "Plumbing for the clinic",
        "Water closet",
        "Rough-in and trim",
        "Trenching",
        "Add a water heater",
        bid_documents.money(proposal.priced.alternates[0].totals.total_cents),
        "Owner fixtures",
        "Extra hose bibb",
        "Half on acceptance.",
        "December 31, 2026",
        "Customer signature",
        bid_documents.money(proposal.priced.totals.total_cents),
    ):
        assert part in text, part


def test_the_signed_copy_carries_the_name_and_the_accepted_totals() -> None:
    proposal = _proposal()
    alternate = proposal.priced.alternates[0]
    locked = locked_totals(proposal, [alternate.id])
    assert locked.total_cents == proposal.priced.totals.total_cents + alternate.totals.total_cents
    detail = f"accepted total {bid_documents.money(locked.total_cents)}"
    signed = bid_documents.render(proposal, bid_documents.signature("Rosa Diaz", NOW, detail))
    text = _text(signed)
    assert "/s/ Rosa Diaz" in text and detail in text and "Customer signature" not in text
    assert bid_documents.sha256(signed) != bid_documents.sha256(bid_documents.render(proposal))
    assert locked_totals(proposal, []).total_cents == proposal.priced.totals.total_cents
