"""The shared customer decision against the real database, through both modules' desks: a decline folds and
caps its reason and the stored user agent (the audit row keeps what the browser sent), a form without a decision
is 422 and changes nothing, and a second answer is 409."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from blueprints.bids import bid_generation, bidding
from blueprints.bids import proposal as bid_proposal
from blueprints.bids import service as bids
from blueprints.bids.bid_schemas import BidIn, SendBidIn
from blueprints.estimates import proposal as estimate_proposal
from shared import customer_decision, signed_links
from shared.audit import AuditLog
from shared.errors import Conflict, Unprocessable
from tests.builders import create_paint_world
from tests.integration.test_bids_pricing import ACTOR, SEVEN_DAYS, _content, _generate, desk  # noqa: F401 - fixture
from tests.integration.test_estimates_sending import _ready, _send, _token

REASON = "  Too \n dear,\t sorry  " + "x" * 1200
AGENT = "Phone/1 " + "y" * 700


def _declined_audit(session: Any, action: str, entity_id: uuid.UUID) -> AuditLog:
    stmt = select(AuditLog).where(AuditLog.action == action, AuditLog.entity_id == str(entity_id))
    return session.scalars(stmt).one()


def _check_decline(session: Any, answer: Any, row: Any, action: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        answer({"decision": "maybe", "reason": "hm"})
    assert refused.value.code == "decision_required" and row.declined_at is None and row.decline_reason is None
    answer({"decision": "decline", "reason": REASON})
    assert row.status == "declined" and row.decided_revision == row.revision and row.declined_at is not None
    assert row.decline_reason == ("Too dear, sorry " + "x" * 1200)[:1000] and len(row.decline_reason) == 1000
    assert row.decision_ip == "203.0.113.7" and row.decision_user_agent == AGENT[:500]
    logged = _declined_audit(session, action, row.id)
    assert logged.after == {"revision": row.revision, "reason": row.decline_reason}
    assert logged.ip == "203.0.113.7" and logged.user_agent == AGENT
    with pytest.raises(Conflict) as again:
        answer({"decision": "accept", "name": "Rosa"})
    assert again.value.code == "link_used"


def test_an_estimate_decline_is_folded_capped_audited_and_final(db_session: Any) -> None:
    world = create_paint_world(db_session)
    estimate = _ready(db_session, world)
    token = _token(_send(db_session, world, estimate.id).url)

    def answer(form: dict[str, str]) -> None:
        estimate_proposal.answer(session=db_session, token=token, form=form, ip="203.0.113.7", user_agent=AGENT)

    link = customer_decision.open_link(
        db_session, estimate_proposal.DESK, token, purpose=estimate_proposal.DESK.purposes[0]
    )
    _check_decline(db_session, answer, link.record, "estimates.declined")


def test_a_bid_decline_is_folded_capped_audited_and_final(db_session: Any, desk: Any) -> None:  # noqa: F811
    principal, project = desk
    reads = {"session": db_session, "principal": principal}
    bid = bids.create_bid(**reads, actor=ACTOR, bid_in=BidIn(project_id=project.id, content=_content()))
    bids.send_bid(**reads, actor=ACTOR, bid_id=bid.id, send_in=SendBidIn(), durable=None)
    revision_id = _generate(db_session, principal, bid.id, 1)
    ids = (bid.id, uuid.UUID(revision_id))
    token, _ = signed_links.sign(
        purpose=bid_generation.PROPOSAL, tenant_id=principal.tenant_id, ids=ids, ttl=SEVEN_DAYS
    )

    def answer(form: dict[str, str]) -> None:
        bid_proposal.answer(session=db_session, token=token, form=form, ip="203.0.113.7", user_agent=AGENT)

    _check_decline(
        db_session, answer, bidding.bid_or_raise(db_session, principal.tenant_id, bid.id), "bids.bid_declined"
    )
