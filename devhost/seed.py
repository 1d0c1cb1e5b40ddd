"""`python -m devhost.seed`: the demo tenant and sample data for every module that exists (idempotent)."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("devhost.seed")


def _identity() -> str:
    from blueprints.identity.demo import seed_identity

    return seed_identity()


def _crm() -> str:
    from blueprints.crm.demo import seed_crm

    return seed_crm()


def _messaging() -> str:
    from blueprints.messaging.demo import seed_messaging

    return seed_messaging()


def _configurator() -> str:
    from blueprints.configurator.demo import seed_configurator

    return seed_configurator()


def _bids() -> str:
    from blueprints.bids.demo import seed_bids

    return seed_bids()


def _bids_pricing() -> str:
    from blueprints.bids.demo import seed_bid_pricing

    return seed_bid_pricing()


def _shop() -> str:
    from blueprints.shop.demo import seed_shop

    return seed_shop()


def _estimates() -> str:
    from blueprints.estimates.demo import seed_estimates

    return seed_estimates()


def _pricebook() -> str:
    from blueprints.pricebook.demo import seed_pricebook

    return seed_pricebook()


def _leads() -> str:
    from blueprints.leads.demo import seed_leads

    return seed_leads()


# Each module that has demo data adds one step; a step must be safe to run again.
STEPS: list[tuple[str, Callable[[], str]]] = [
    ("identity", _identity),
    ("crm", _crm),
    ("messaging", _messaging),
    ("configurator", _configurator),
    ("shop", _shop),
    ("estimates", _estimates),
    ("bids", _bids),
    ("bids_pricing", _bids_pricing),
    ("pricebook", _pricebook),
    ("leads", _leads),
]


def seed() -> list[str]:
    """Run every seed step in order and return what each reported."""
    from shared.runtime import ensure_started

    ensure_started()
    reports = []
    for name, step in STEPS:
        report = step()
        log.info("seed %s: %s", name, report)
        reports.append(f"{name}: {report}")
    return reports


if __name__ == "__main__":
    for line in seed() or ["nothing to seed yet"]:
        print(line)
