"""The plumbing proposal PDF (shared.pdf) and where it is kept.

The PDF: licence and proposal number, customer and job, scope, the fixture table, inclusions, exclusions,
alternates with their prices, allowances, unit prices, the price, payment terms, validity and the signature block
(filled with the customer's typed name once accepted). Stored in the uploads container under the tenant's prefix:
tenants/{tenant}/bids/{bid}/proposal-r{revision}.pdf (and -signed.pdf).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from blueprints.bids.bid_schemas import BidProposal, PricedLine
from shared import uploads
from shared.config import get_settings
from shared.pdf import Column, Document, Signature
from shared.storage import blob_service

FIXTURES = [
    Column("Item", 3.6),
    Column("Qty", 0.9, "R"),
    Column("Unit", 0.6),
    Column("Hours", 0.9, "R"),
    Column("Amount", 1.3, "R"),
]


def money(cents: int, currency: str = "USD") -> str:
    """Cents as the customer reads them: $1,234.56 (other currencies by their code)."""
    amount = f"{cents / 100:,.2f}"
    return f"${amount}" if currency == "USD" else f"{currency} {amount}"


def sha256(data: bytes) -> str:
    """The hex SHA-256 of a document, as recorded with an acceptance."""
    return hashlib.sha256(data).hexdigest()


def quantity_text(value: object) -> str:
    text = f"{value:f}" if hasattr(value, "normalize") else str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _rows(lines: list[PricedLine], currency: str) -> list[list[str]]:
    return [
        [
            line.description,
            quantity_text(line.quantity),
            line.unit,
            f"{line.hours:.2f}",
            money(line.direct_cents, currency),
        ]
        for line in lines
    ]


def _bullets(document: Document, title: str, items: list[str]) -> None:
    if items:
        document.heading(title, size=11)
        for item in items:
            document.paragraph(f"- {item}", size=9)


def render(proposal: BidProposal, signed: Signature | None = None) -> bytes:
    """The proposal PDF of a sent revision; with signed, the customer's acceptance fills the signature block."""
    content, priced, currency = proposal.content, proposal.priced, proposal.currency
    document = Document(
        business_name=proposal.business_name,
        brand_colour=proposal.brand_colour,
        title=f"Proposal {proposal.number} (revision {proposal.revision}): {content.title}",
        created_at=signed.signed_at if signed else proposal.sent_at,
        subtitle=f"Licence {proposal.licence_number}" if proposal.licence_number else None,
    )
    details = [
        ("Proposal", f"{proposal.number}, revision {proposal.revision}"),
        ("Licence", proposal.licence_number or "-"),
        ("Customer", proposal.customer.name),
        ("Project", proposal.project_name),
        ("Job address", proposal.address),
        ("Estimator", proposal.estimator.name),
        ("Date", proposal.sent_at.strftime("%B %d, %Y")),
        ("Valid until", proposal.valid_until.strftime("%B %d, %Y")),
    ]
    document.key_values(details)
    if content.scope:
        document.heading("Scope", size=11)
        document.paragraph(content.scope)
    document.heading("Fixtures and work")
    document.table(FIXTURES, _rows(priced.lines, currency))
    t = priced.totals
    lines = [("Base bid", money(t.price_cents, currency))]
    if t.bond_cents:
        lines.append(("Bond", money(t.bond_cents, currency)))
    if t.tax_cents:
        lines.append(("Tax", money(t.tax_cents, currency)))
    lines.append(("Total, base bid", money(t.total_cents, currency)))
    document.totals(lines)
    _bullets(document, "Included", content.inclusions)
    _bullets(document, "Excluded", content.exclusions)
    if content.allowances:
        document.heading("Allowances (included in the price)", size=11)
        rows = [[a.name, money(a.amount_cents, currency)] for a in content.allowances]
        document.table([Column("Allowance", 4), Column("Amount", 1, "R")], rows)
    if priced.alternates:
        document.heading("Alternates (priced separately; accept any)", size=11)
        rows = [[a.name, a.description, money(a.totals.total_cents, currency)] for a in priced.alternates]
        document.table([Column("Alternate", 2), Column("Description", 3), Column("Price", 1.2, "R")], rows)
    if content.unit_prices:
        document.heading("Unit prices (added work)", size=11)
        rows = [[u.description, u.unit, money(u.price_cents, currency)] for u in content.unit_prices]
        document.table([Column("Work", 4), Column("Per", 0.8), Column("Price", 1.2, "R")], rows)
    document.heading("Payment terms", size=11)
    document.paragraph(proposal.payment_terms, size=9)
    document.paragraph(f"This proposal is valid until {proposal.valid_until.strftime('%B %d, %Y')}.", size=9)
    document.signature(signed or Signature())
    return document.render()


def signature(name: str, signed_at: datetime, detail: str) -> Signature:
    """The filled signature block of an accepted proposal."""
    return Signature(
        name=name,
        signed_at=signed_at,
        detail=detail,
        statement="By signing, the customer accepts the base bid and the alternates named below, and the terms.",
    )


def path_of(tenant_id: uuid.UUID, bid_id: uuid.UUID, revision: int, *, signed: bool = False) -> str:
    """The blob name of a revision's proposal (or of its signed copy)."""
    suffix = "-signed" if signed else ""
    return f"tenants/{tenant_id}/bids/{bid_id}/proposal-r{revision}{suffix}.pdf"


def _container() -> str:
    name = get_settings().uploads_container
    uploads.ensure_container(name)
    return name


def put(path: str, data: bytes) -> None:
    """Store a PDF (overwriting: a retried step writes the same revision's document again)."""
    from azure.storage.blob import ContentSettings  # heavy SDK: loaded on first use (cold start)

    client = blob_service().get_blob_client(_container(), path)
    client.upload_blob(data, overwrite=True, content_settings=ContentSettings(content_type="application/pdf"))


def get(path: str) -> bytes:
    """A stored PDF's bytes."""
    return blob_service().get_blob_client(_container(), path).download_blob().readall()
