"""The proposal PDF (shared.pdf): business and customer, each option's rooms, surfaces, quantities and prices
(cost lines hidden when the business says so), add-ons, terms, validity, deposit and the acceptance block."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from blueprints.estimates.schemas import OptionOut, Proposal, ProposalPicture, Signed
from shared.pdf import Column, Document, Signature


def money(cents: int, currency: str = "USD") -> str:
    """Cents as the customer reads them: $1,234.56 (other currencies by their code)."""
    amount = f"{cents / 100:,.2f}"
    return f"${amount}" if currency == "USD" else f"{currency} {amount}"


def sha256(data: bytes) -> str:
    """The hex SHA-256 of a document, as recorded with an acceptance."""
    return hashlib.sha256(data).hexdigest()


SURFACES = [
    Column("Room / surface", 3.2),
    Column("Qty", 1.2, "R"),
    Column("Coats", 0.7, "R"),
    Column("Paint", 2.2),
    Column("Hours", 0.9, "R"),
    Column("Labour", 1.2, "R"),
]


def _option(document: Document, option: OptionOut, proposal: Proposal) -> None:
    currency = proposal.estimate.currency
    document.heading(f"Option: {option.name}")
    if option.description:
        document.paragraph(option.description)
    rows = [
        [
            f"{room.name} - {surface.kind}",
            f"{surface.quantity.normalize():f} {'ea' if surface.unit == 'items' else surface.unit}",
            str(surface.coats),
            surface.product_name,
            f"{surface.hours:.2f}",
            money(surface.labour_cents, currency),
        ]
        for room in option.rooms
        for surface in room.surfaces
    ]
    t = option.totals
    if proposal.show_cost_lines:
        document.table(SURFACES, rows)
        paint = [
            [m.name, f"{m.gallons} gal", money(m.price_per_gallon_cents, currency), money(m.cents, currency)]
            for m in option.materials
        ]
        document.table(
            [Column("Paint", 3), Column("Gallons", 1, "R"), Column("Per gallon", 1, "R"), Column("Amount", 1, "R")],
            paint,
        )
        lines = [
            ("Labour", money(t.labour_cents + t.labour_markup_cents, currency)),
            ("Paint and materials", money(t.materials_cents + t.materials_markup_cents, currency)),
        ]
    else:
        document.table(
            [Column("Room", 3), Column("Surfaces", 4)],
            [[r.name, ", ".join(s.kind for s in r.surfaces)] for r in option.rooms],
        )
        lines = [("Subtotal", money(t.total_cents - t.tax_cents + t.discount_cents, currency))]
    if t.discount_cents:
        lines.append(("Discount", "-" + money(t.discount_cents, currency)))
    if t.tax_cents:
        lines.append(("Tax", money(t.tax_cents, currency)))
    if t.deposit_cents:
        lines.append(("Deposit due on acceptance", money(t.deposit_cents, currency)))
    lines.append((f"Total, {option.name}", money(t.total_cents, currency)))
    document.totals(lines)


def _pictures(document: Document, pictures: Sequence[tuple[ProposalPicture, bytes]]) -> None:
    """The photos marked for the proposal, then the colour previews, each labelled."""
    document.heading("Photos and colour previews")
    for picture, data in pictures:
        if picture.label:
            document.paragraph(picture.label, size=10, bold=True)
        document.image(data, width=110)
        if picture.caption:
            document.paragraph(picture.caption, size=9)
        if picture.note:
            document.paragraph(picture.note, size=8)


def render(
    proposal: Proposal, signed: Signed | None = None, pictures: Sequence[tuple[ProposalPicture, bytes]] = ()
) -> bytes:
    """The proposal PDF of a sent revision; with signed, the customer's acceptance fills the acceptance block;
    pictures are the proposal's photos and previews with their image bytes (JPEG or PNG)."""
    estimate = proposal.estimate
    document = Document(
        business_name=proposal.business_name,
        brand_colour=proposal.brand_colour,
        title=f"Proposal: {estimate.title} (revision {proposal.revision})",
        created_at=signed.accepted_at if signed else proposal.sent_at,
    )
    details = [("Customer", proposal.customer.name), ("Job address", estimate.job_address or "-")]
    details += [("Estimator", proposal.estimator.name), ("Valid until", proposal.valid_until.strftime("%B %d, %Y"))]
    document.key_values(details)
    if estimate.notes:
        document.paragraph(estimate.notes)
    for option in estimate.options:
        _option(document, option, proposal)
    if estimate.addons:
        document.heading("Add-ons")
        rows = [[a.name, money(a.price_cents, estimate.currency)] for a in estimate.addons]
        document.table([Column("Add-on", 4), Column("Price", 1, "R")], rows)
    if proposal.deposit_percent:
        document.paragraph(
            f"A deposit of {proposal.deposit_percent.normalize():f}% of the accepted total is due on acceptance."
        )
    if pictures:
        _pictures(document, pictures)
    document.terms(proposal.terms)
    document.signature(_signature(proposal, signed))
    return document.render()


def _signature(proposal: Proposal, signed: Signed | None) -> Signature:
    if signed is None:
        return Signature()
    option = proposal.option(signed.option_id)
    addons = [a.name for a in proposal.estimate.addons if a.id in signed.addon_ids]
    detail = (
        f"Option chosen: {option.name if option else signed.option_id}; add-ons: {', '.join(addons) or 'none'}; "
        f"total {money(signed.total_cents, proposal.estimate.currency)}. Recorded from {signed.ip or 'unknown address'}"
        f" with {signed.user_agent or 'unknown browser'}."
    )
    return Signature(name=signed.name, signed_at=signed.accepted_at, detail=detail)
