"""Pricing a 400-line plumbing bid and rendering its proposal PDF, each next to a plain loop computing the same
totals in the same run (no I/O, all in process).

The bid has 400 fixture lines (a mix of every fixture type, quantities 1-40), 5 alternates of 4 lines each,
3 allowances and per-fixture pipe. `pricing.price_bid` builds the typed lines and totals the API returns; the
plain loop computes the same direct cost and totals chain with bare Decimals and ints (the floor: what the
arithmetic costs without the models). Their totals must agree exactly, or the script fails. Then the proposal
PDF of that bid (shared.pdf via bid_documents.render) is rendered.

Targets: pricing p95 < 50 ms; within 25x the plain loop; PDF render p95 < 500 ms.
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

LINES, RUNS, WARMUP, PDF_RENDERS = 400, 200, 20, 30
TARGETS = {"pricing_p95_ms": 50.0, "pricing_vs_plain_ratio_p95": 25.0, "pdf_render_p95_ms": 500.0}


def _percentile(values: list[float], q: float) -> float:
    return harness.percentile(values, q, digits=3)


def _time(call: Callable[[], object], runs: int) -> tuple[list[float], object]:
    result: object = None
    for _ in range(WARMUP):
        result = call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples, result


def _bid() -> tuple[object, object]:
    from blueprints.bids.bid_schemas import AllowanceIn, AlternateIn, BidContent, LineIn, PriceBookBody
    from blueprints.bids.catalog import FIXTURE_TYPES

    lines = [
        LineIn(fixture_type=FIXTURE_TYPES[n % len(FIXTURE_TYPES)], quantity=Decimal(1 + n % 40), description=f"L{n}")
        for n in range(LINES)
    ]
    alternates = [
        AlternateIn(
            name=f"Alternate {a}",
            lines=[
                LineIn(fixture_type=FIXTURE_TYPES[(a + k) % len(FIXTURE_TYPES)], quantity=Decimal(k + 1))
                for k in range(4)
            ],
            extra_cost_cents=1_000 * a,
        )
        for a in range(5)
    ]
    allowances = [AllowanceIn(name=f"Allowance {n}", amount_cents=50_000 + n) for n in range(3)]
    content = BidContent(title="Bench tower", lines=lines, alternates=alternates, allowances=allowances)
    book = PriceBookBody(permit_fees_cents=125_000, bond_percent=Decimal("1.5"), tax_percent=Decimal("8.25"))
    return content, book


def _half_up(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _plain_totals(content: object, book: object) -> int:
    """The same chain with bare numbers: the base bid's total in cents."""
    rate, pf = book.labour_rate_cents, book.productivity_factor  # type: ignore[attr-defined]
    assemblies = {
        k: (a.rough_in_hours + a.trim_hours, a.material_cents, a.allowance_cents) for k, a in book.assemblies.items()
    }  # type: ignore[attr-defined]
    direct, fixtures = 0, Decimal(0)
    for line in content.lines:  # type: ignore[attr-defined]
        hours, material, allowance = assemblies[line.fixture_type]
        q = line.quantity
        fixtures += q
        direct += _half_up(q * hours * pf * rate) + _half_up(q * material) + _half_up(q * allowance)
    pipe = book.pipe  # type: ignore[attr-defined]
    feet = fixtures * pipe.feet
    direct += _half_up(feet * pipe.hours_per_foot * pf * rate) + _half_up(feet * pipe.material_cents_per_foot)
    direct += book.permit_fees_cents + sum(a.amount_cents for a in content.allowances)  # type: ignore[attr-defined]
    contingency = _half_up(Decimal(direct) * book.contingency_percent / 100)  # type: ignore[attr-defined]
    overhead = _half_up(Decimal(direct + contingency) * book.overhead_percent / 100)  # type: ignore[attr-defined]
    cost = direct + contingency + overhead
    price = _half_up(Decimal(cost) / (1 - book.margin_percent / 100))  # type: ignore[attr-defined]
    bond = _half_up(Decimal(price) * book.bond_percent / 100)  # type: ignore[attr-defined]
    tax = _half_up(Decimal(price + bond) * book.tax_percent / 100)  # type: ignore[attr-defined]
    return price + bond + tax


def main() -> None:
    from blueprints.bids import bid_documents, pricing
    from blueprints.bids.bid_schemas import BidProposal, Party

    started = time.perf_counter()
    content, book = _bid()
    priced_samples, priced = _time(lambda: pricing.price_bid(content, book), RUNS)  # type: ignore[arg-type]
    plain_samples, plain_total = _time(lambda: _plain_totals(content, book), RUNS)
    total = priced.totals.total_cents  # type: ignore[attr-defined]
    if total != plain_total:
        raise SystemExit(f"pricing and the plain loop disagree: {total} != {plain_total}")
    now = datetime.now(UTC).replace(microsecond=0)
    proposal = BidProposal(
        bid_id=uuid.uuid4(),
        number="P-00001",
        revision=1,
        business_name="PipelineOS Plumbing",
        brand_colour=None,
        licence_number="M-40123",
        customer=Party(name="Riverside Clinic LLC"),
        estimator=Party(name="Ed Estimator"),
        project_name="Bench tower",
        address="12 River Rd",
        currency="USD",
        content=content,  # type: ignore[arg-type]
        priced=priced,
        payment_terms=book.payment_terms,
        sent_at=now,  # type: ignore[arg-type,attr-defined]
        valid_until=now + timedelta(days=30),
    )
    pdf_samples, pdf = _time(lambda: bid_documents.render(proposal), PDF_RENDERS)
    priced_p95, plain_p95 = _percentile(priced_samples, 0.95), _percentile(plain_samples, 0.95)
    figures = {
        "bench": "bid_pricing",
        "lines": LINES,
        "total_cents": total,
        "pricing_p50_ms": _percentile(priced_samples, 0.5),
        "pricing_p95_ms": priced_p95,
        "plain_loop_p50_ms": _percentile(plain_samples, 0.5),
        "plain_loop_p95_ms": plain_p95,
        "pricing_vs_plain_ratio_p95": round(priced_p95 / plain_p95, 2) if plain_p95 else None,
        "pdf_render_p50_ms": _percentile(pdf_samples, 0.5),
        "pdf_render_p95_ms": _percentile(pdf_samples, 0.95),
        "pdf_bytes": len(pdf),  # type: ignore[arg-type]
        "targets": TARGETS,
        "duration_s": round(time.perf_counter() - started, 1),
    }
    figures["met"] = {
        name: figures[name] is not None and figures[name] <= limit  # type: ignore[operator]
        for name, limit in TARGETS.items()
    }
    harness.print_figures(figures)


if __name__ == "__main__":
    main()
