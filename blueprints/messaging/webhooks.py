"""Twilio's webhooks: delivery status reports and inbound texts (with STOP/START/HELP).

An inbound text (not a keyword) from a number no customer has is also put on the inbound-from-unknown queue,
once (only when the text was stored for the first time), for whichever module takes such texts up.

Both are authenticated by X-Twilio-Signature over PUBLIC_BASE_URL + path + query and the POST
parameters. Each is idempotent: a status report is keyed by (MessageSid, status), an inbound text by
its MessageSid, so a replayed delivery has one effect. A status never moves a message backwards.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from blueprints.crm import schemas as crm_schemas
from blueprints.crm import service as crm
from blueprints.identity import service as identity
from blueprints.messaging import rules, schemas
from blueprints.messaging import service as messaging
from blueprints.messaging.models import Message, MessageEvent
from shared import clock, twilio_signature
from shared.config import get_settings
from shared.db import set_tenant
from shared.errors import Forbidden
from shared.storage import enqueue

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Our statuses by how far along they are; a report never lowers the rank.
RANK = {
    "queued": 0,
    "scheduled": 0,
    "deferred": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "blocked": 9,
    "received": 9,
}
# Twilio's MessageStatus values mapped to ours (None: nothing to change beyond recording it).
TWILIO_STATUS = {
    "accepted": None,
    "scheduled": None,
    "queued": None,
    "sending": None,
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}


def verified_params(*, url: str, body: bytes, signature: str | None) -> dict[str, str]:
    """The POST parameters of a request Twilio signed; 403 for an unsigned or forged one."""
    settings = get_settings()
    params = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    public = twilio_signature.public_url(settings.public_base_url, url)
    if not twilio_signature.is_valid(settings.twilio_auth_token, public, params, signature):
        raise Forbidden("The request is not signed by Twilio", code="invalid_signature")
    return dict(params)


# --- status callbacks ---------------------------------------------------------------------------------


def apply_status(*, session: Session, tenant_id: uuid.UUID, message_id: uuid.UUID, params: dict[str, str]) -> str:
    """Record a delivery report once and move the message forward (never backwards)."""
    sid, reported = params.get("MessageSid") or params.get("SmsSid") or "", (params.get("MessageStatus") or "").lower()
    if not sid or reported not in TWILIO_STATUS:
        return "ignored"
    set_tenant(session, tenant_id)
    inserted = session.execute(
        insert(MessageEvent)
        .values(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            message_id=message_id,
            provider_sid=sid,
            status=reported,
            error_code=params.get("ErrorCode") or None,
            created_at=clock.now(),
        )
        .on_conflict_do_nothing()
        .returning(MessageEvent.id)
    ).scalar()
    if inserted is None:
        return "replayed"
    return _advance(session, tenant_id, message_id, sid, reported, params.get("ErrorCode"))


def _advance(
    session: Session, tenant_id: uuid.UUID, message_id: uuid.UUID, sid: str, reported: str, error_code: str | None
) -> str:
    message = session.scalars(
        select(Message).where(Message.tenant_id == tenant_id, Message.id == message_id).with_for_update()
    ).first()
    if message is None or (message.provider_sid and message.provider_sid != sid):
        return "unknown"
    message.provider_sid = sid
    target = TWILIO_STATUS[reported]
    unknown_outcome = message.status == "failed" and message.error_code == "outcome_unknown"
    if target is None or (RANK[target] <= RANK[message.status] and not unknown_outcome):
        session.flush()
        return "kept"
    now = clock.now()
    message.status, message.provider_status, message.updated_at = target, reported, now
    if target == "sent":
        message.sent_at = message.sent_at or now
    if target == "delivered":
        message.delivered_at = now
        message.error_code = message.error_detail = None
    if target in ("undelivered", "failed"):
        message.error_code = error_code or message.error_code
    session.flush()
    return target


# --- inbound texts -----------------------------------------------------------------------------------------


def receive_inbound(*, session: Session, params: dict[str, str]) -> str:
    """Store an inbound text on the customer's thread, act on STOP/START/HELP; returns the TwiML answer."""
    number, service_sid = params.get("To") or None, params.get("MessagingServiceSid") or None
    tenant_id = session.scalar(
        text("SELECT messaging_tenant_for(:number, :sid)"), {"number": number, "sid": service_sid}
    )
    if tenant_id is None:
        log.warning("inbound text for a number no business owns")
        return EMPTY_TWIML
    set_tenant(session, tenant_id)  # the lookup crossed tenants on purpose; the rest of the transaction is theirs
    return _inbound(session, tenant_id, params)


def _customers_with(session: Session, tenant_id: uuid.UUID, phone: str) -> list[crm_schemas.CustomerOut]:
    try:
        query = crm_schemas.CustomerQuery(phone=phone, limit=50)
    except ValueError:
        return []
    page = crm.list_customers(session=session, principal=messaging.system_principal(tenant_id), query=query)
    return list(page.items)


def _inbound(session: Session, tenant_id: uuid.UUID, params: dict[str, str]) -> str:
    sender, body, sid = params.get("From") or "", params.get("Body") or "", params.get("MessageSid") or ""
    customers = _customers_with(session, tenant_id, sender)
    now = clock.now()
    stored = session.execute(
        insert(Message)
        .values(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            customer_id=customers[0].id if customers else None,
            direction="inbound",
            channel="sms",
            status="received",
            body=body[:1600],
            from_address=sender[:320],
            to_address=(params.get("To") or "")[:320],
            provider_sid=sid or None,
            attempts=0,
            dispatch_seq=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=["tenant_id", "provider_sid"], index_where=Message.provider_sid.isnot(None)
        )
        .returning(Message.id)
    ).scalar()
    word = rules.keyword(body)
    if stored is not None and word is not None:
        _act_on_keyword(session, tenant_id, customers, word)
    if stored is not None and word is None and not customers:
        # Sent after commit (outbox); messaging does not know who takes it up (leads does).
        unknown = schemas.InboundFromUnknown(
            tenant_id=tenant_id, message_id=stored, from_number=sender[:32], body=body[:1600], received_at=now
        )
        enqueue(session, schemas.INBOUND_UNKNOWN_QUEUE, unknown)
    if word in rules.HELP_KEYWORDS:
        return _help_twiml(session, tenant_id)
    return EMPTY_TWIML


def _act_on_keyword(session: Session, tenant_id: uuid.UUID, customers: list[Any], word: str) -> None:
    source = f"sms_keyword:{word}"
    for customer in customers:
        if word in rules.OPT_OUT_KEYWORDS:
            for purpose in _to_revoke(session, tenant_id, customer.id):
                messaging.record_consent(
                    session=session,
                    tenant_id=tenant_id,
                    customer_id=customer.id,
                    channel="sms",
                    purpose=purpose,
                    granted=False,
                    source=source,
                )
        elif word in rules.OPT_IN_KEYWORDS:
            for purpose in _to_restore(session, tenant_id, customer.id):
                messaging.record_consent(
                    session=session,
                    tenant_id=tenant_id,
                    customer_id=customer.id,
                    channel="sms",
                    purpose=purpose,
                    granted=True,
                    source=source,
                )


def _to_revoke(session: Session, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> list[schemas.Purpose]:
    """STOP withdraws every granted purpose; with none granted it still records the opt-out (transactional)."""
    granted = []
    for purpose in ("transactional", "marketing"):
        current = messaging.current_consent(
            session=session, tenant_id=tenant_id, customer_id=customer_id, channel="sms", purpose=purpose
        )
        if current is not None and current.granted:
            granted.append(purpose)
    return granted or ["transactional"]


def _to_restore(session: Session, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> list[schemas.Purpose]:
    """START undoes a keyword opt-out; with nothing to undo it opts in to transactional texts."""
    restore = []
    for purpose in ("transactional", "marketing"):
        current = messaging.current_consent(
            session=session, tenant_id=tenant_id, customer_id=customer_id, channel="sms", purpose=purpose
        )
        undo = current is not None and not current.granted and current.source.startswith("sms_keyword:")
        if undo or (purpose == "transactional" and current is None):
            restore.append(purpose)
    return restore


def _help_twiml(session: Session, tenant_id: uuid.UUID) -> str:
    settings = messaging.get_settings(session=session, tenant_id=tenant_id)
    tenant, _ = identity.get_tenant(session=session, principal=messaging.system_principal(tenant_id))
    reply = settings.help_text.replace("{business_name}", tenant.name)
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(reply)}</Message></Response>'
