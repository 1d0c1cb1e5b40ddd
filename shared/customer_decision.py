"""The customer's decision on a sent proposal behind a signed link, written once for every module that sends one
(the painting estimates, the plumbing bids).

Opening a link to a revision: tampered 403, expired link 410, module switched off 403, record gone 404; a link to a
revision that is not the newest sent one answers "this ... was updated" (410). The first open marks the record
viewed. An answer comes once (a second one is 409) and not after the validity date (410); a decline records the
reason (white space folded, capped), and an acceptance the typed name, time, IP and user agent, the stored signed
copy and its SHA-256, each with its audit row. The signed copy is emailed through the module's send (messaging),
and a document link serves the revision's PDF, the signed copy once that revision was accepted.

Each module describes itself once in a `Desk` (feature flag, entity, the word its customers read, audit action
names, how its records expire, its lifecycle's wording) and keeps what only it has: its page, what an acceptance
chooses (options and add-ons, alternates), its PDF and its storage. Shared code imports no module, so the desk
hands in what lives in one (`Services`): the business (identity) and the send (messaging).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from sqlalchemy.orm import Mapped, Session

from shared import audit, clock, signed_links
from shared.auth import system_principal
from shared.db import set_tenant
from shared.errors import AppError, Forbidden, Gone, NotFound, Unprocessable
from shared.proposal_lifecycle import Event, Lifecycle, Status

SIGNED_COPY_TTL = timedelta(days=7)  # how long the link to the signed copy in the email works
NAME_MAX, REASON_MAX, USER_AGENT_MAX = 200, 1000, 500


class Proposed(Protocol):
    """The columns of a record a customer decides on (estimates, bids_bids)."""

    id: Mapped[uuid.UUID]
    tenant_id: Mapped[uuid.UUID]
    status: Mapped[str]
    revision: Mapped[int]
    valid_until: Mapped[datetime | None]
    viewed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    decided_revision: Mapped[int | None]
    signer_name: Mapped[str | None]
    accepted_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None]
    decision_ip: Mapped[str | None]
    decision_user_agent: Mapped[str | None]
    signed_pdf_path: Mapped[str | None]
    signed_pdf_sha256: Mapped[str | None]


class SentRevision(Protocol):
    """The columns of a sent, frozen revision of such a record."""

    id: Mapped[uuid.UUID]
    revision: Mapped[int]
    pdf_path: Mapped[str | None]


R = TypeVar("R", bound=Proposed)
V = TypeVar("V", bound=SentRevision)


class _Business(Protocol):
    @property
    def enabled_modules(self) -> Collection[str]: ...


@dataclass(frozen=True)
class Services:
    """What a decision needs of other modules: the business (identity.service.get_tenant, for its enabled modules)
    and the customer's email (messaging.service.send)."""

    tenant: Callable[..., tuple[_Business, object]]
    send: Callable[..., object]


class Actions(NamedTuple):
    """The audit actions of a view, an acceptance and a decline."""

    viewed: str
    accepted: str
    declined: str


@dataclass(frozen=True)
class Reply:
    """The customer's form (decision, name, reason and the module's choices) and where it came from."""

    form: Mapping[str, str]
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class Desk(Generic[R, V]):
    """One module's customer decisions: its tables, its words and the hooks shared code cannot import."""

    module: str  # the feature flag ("estimates"); its capitalised form names it when switched off
    entity: str  # the audit entity, the error codes' prefix and the messages' related type ("estimate")
    noun: str  # what the customer's messages call it ("estimate", "proposal")
    lifecycle: Lifecycle
    expired: Callable[[Session, R], bool]  # whether the record is past its validity (a module may record it)
    record: type[R]
    revision: type[V]  # its column `<entity>_id` names the record
    services: Services
    purposes: tuple[str, str]  # the signed links' purposes: the customer's page, a revision's PDF
    actions: Actions

    @property
    def log(self) -> logging.Logger:
        """The module's logger."""
        return logging.getLogger(f"tradeops.{self.module}")


@dataclass(frozen=True)
class Link(Generic[R, V]):
    """A verified link's record (row-locked) and the revision it names."""

    record: R
    revision: V


def open_link(session: Session, desk: Desk[R, V], token: str, *, purpose: str) -> Link[R, V]:
    """The record and revision a valid link names (403 tampered or module off, 410 expired link, 404 gone)."""
    claims = signed_links.verify(token, purpose=purpose, id_count=2, expired_message="This link has expired")
    set_tenant(session, claims.tenant_id)
    tenant, _ = desk.services.tenant(session=session, principal=system_principal(claims.tenant_id))
    if desk.module not in tenant.enabled_modules:
        raise Forbidden(f"{desk.module.capitalize()} are not enabled for this business", code="module_disabled")
    record_id, revision_id = claims.ids
    record = session.get(desk.record, record_id, with_for_update=True)
    revision = session.get(desk.revision, revision_id)
    if (
        record is None
        or record.tenant_id != claims.tenant_id
        or getattr(record, "deleted_at", None) is not None  # soft-deleted (estimates)
        or revision is None
        or getattr(revision, f"{desk.entity}_id") != record.id
    ):
        raise NotFound(f"No such {desk.entity}")
    return Link(record=record, revision=revision)


def require_current(desk: Desk[R, V], link: Link[R, V]) -> None:
    """410 when the link's revision is no longer the one sent (changed since, or back to draft)."""
    if link.revision.revision != link.record.revision or link.record.status == Status.DRAFT:
        raise Gone(f"This {desk.noun} was updated; ask us for the new link", code=f"{desk.entity}_updated")


def show(session: Session, desk: Desk[R, V], token: str) -> Link[R, V]:
    """The current revision behind the customer's page link; the first open of an unexpired one marks it viewed."""
    link = open_link(session, desk, token, purpose=desk.purposes[0])
    require_current(desk, link)
    if not desk.expired(session, link.record):
        mark_viewed(session, desk, link.record)
    return link


def mark_viewed(session: Session, desk: Desk[R, V], record: R) -> None:
    """Sent -> viewed with the first view time and an audit row (a later view changes nothing)."""
    if record.status != Status.SENT:
        return
    record.status = desk.lifecycle.next_status(record.status, Event.VIEW).value
    record.viewed_at = record.viewed_at or clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=record.tenant_id,
        actor=audit.SYSTEM,
        action=desk.actions.viewed,
        entity=desk.entity,
        entity_id=record.id,
        after={"revision": record.revision},
    )


def answer(
    session: Session, desk: Desk[R, V], token: str, reply: Reply, *, accept: Callable[[Link[R, V], Reply], None]
) -> Link[R, V]:
    """Record the customer's decision: `accept` (the module's) or a decline (409 when already answered, 410 when
    expired or outdated, 422 without a decision)."""
    link = open_link(session, desk, token, purpose=desk.purposes[0])
    require_current(desk, link)
    # The link answers once: a second acceptance or decline of this revision is 409.
    decided = link.record.accepted_at or link.record.declined_at
    signed_links.require_unused(decided, message=f"This {desk.noun} was already answered")
    if desk.expired(session, link.record):
        raise Gone(f"This {desk.noun} has expired; ask us for a new one", code=f"{desk.entity}_expired")
    decision = reply.form.get("decision", "")
    if decision == "accept":
        accept(link, reply)
    elif decision == "decline":
        decline(session, desk, link, reply)
    else:
        raise Unprocessable("Choose to accept or decline", code="decision_required")
    return link


def user_agent_of(user_agent: str | None) -> str | None:
    """The user agent as stored with a decision (capped; empty is None)."""
    return (user_agent or "")[:USER_AGENT_MAX] or None


def decline(session: Session, desk: Desk[R, V], link: Link[R, V], reply: Reply) -> None:
    """Record a decline of the link's revision: when, why (white space folded, capped), from where; audited."""
    record, reason, ip, user_agent = link.record, reply.form.get("reason", ""), reply.ip, reply.user_agent
    record.status = desk.lifecycle.next_status(record.status, Event.DECLINE).value
    record.decided_revision, record.declined_at = link.revision.revision, clock.now()
    record.decline_reason = " ".join(reason.split())[:REASON_MAX] or None
    record.decision_ip, record.decision_user_agent = ip, user_agent_of(user_agent)
    record.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=record.tenant_id,
        actor=audit.Actor(ip=ip, user_agent=user_agent),
        action=desk.actions.declined,
        entity=desk.entity,
        entity_id=record.id,
        after={"revision": record.decided_revision, "reason": record.decline_reason},
    )


@dataclass(frozen=True)
class Acceptance:
    """Who signed, when (to the second, as printed on the signed copy), from where, and the status it leads to."""

    status: Status
    name: str
    accepted_at: datetime
    ip: str | None
    user_agent: str | None


def accepting(desk: Desk[R, V], record: R) -> Status:
    """The status an acceptance moves the record to (409 when the lifecycle has no such move)."""
    return desk.lifecycle.next_status(record.status, Event.ACCEPT)


def signature(status: Status, reply: Reply) -> Acceptance:
    """The acceptance the form signs: the typed name, white space folded and capped (422 without one)."""
    name = " ".join(reply.form.get("name", "").split())[:NAME_MAX]
    if not name:
        raise Unprocessable("Type your name to sign", code="name_required")
    return Acceptance(
        status=status,
        name=name,
        accepted_at=clock.now().replace(microsecond=0),
        ip=reply.ip,
        user_agent=user_agent_of(reply.user_agent),
    )


def record_acceptance(
    session: Session,
    desk: Desk[R, V],
    link: Link[R, V],
    acceptance: Acceptance,
    *,
    path: str,
    pdf: bytes,
    total_cents: int,
    chosen: Mapping[str, Any],
) -> None:
    """Record the acceptance of the link's revision with its signed copy (stored at path) and that copy's SHA-256;
    audited with what was chosen (the module sets its own columns of the choice before)."""
    record, signed_pdf_sha256 = link.record, hashlib.sha256(pdf).hexdigest()
    record.status, record.decided_revision = acceptance.status.value, link.revision.revision
    record.signer_name, record.accepted_at = acceptance.name, acceptance.accepted_at
    record.decision_ip, record.decision_user_agent = acceptance.ip, acceptance.user_agent
    record.signed_pdf_path, record.signed_pdf_sha256 = path, signed_pdf_sha256
    record.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=record.tenant_id,
        actor=audit.Actor(ip=acceptance.ip, user_agent=acceptance.user_agent),
        action=desk.actions.accepted,
        entity=desk.entity,
        entity_id=record.id,
        after={
            "revision": record.decided_revision,
            **chosen,
            "signer_name": acceptance.name,
            "total_cents": total_cents,
            "signed_pdf_sha256": signed_pdf_sha256,
        },
    )


def email_signed_copy(
    session: Session,
    desk: Desk[R, V],
    record: R,
    *,
    customer_id: uuid.UUID,
    subject: str,
    body: str,
    attachments: Sequence[object] = (),
) -> None:
    """Email the customer their signed copy (once per record, consent applying); a refusal is logged, not raised."""
    try:
        desk.services.send(
            session=session,
            tenant_id=record.tenant_id,
            customer_id=customer_id,
            channel="email",
            subject=subject,
            body=body,
            purpose="transactional",
            related_type=desk.entity,
            related_id=record.id,
            dedupe_key=f"{desk.entity}-{record.id}-accepted",
            attachments=attachments,
        )
    except AppError as refused:  # no email address, messaging off: the estimator's notice still goes
        desk.log.warning("signed %s copy not emailed to the customer: %s", desk.entity, refused.code)


@dataclass(frozen=True)
class Document(Generic[R, V]):
    """The PDF a document link serves: the blob, and whether it is the signed copy."""

    link: Link[R, V]
    path: str
    signed: bool

    @property
    def suffix(self) -> str:
        """What the file name adds for the signed copy."""
        return "-signed" if self.signed else ""


def document(session: Session, desk: Desk[R, V], token: str) -> Document[R, V]:
    """The PDF behind a signed document link: the signed copy once that revision was accepted, else the revision's
    (404 when there is none)."""
    link = open_link(session, desk, token, purpose=desk.purposes[1])
    record = link.record
    signed = record.decided_revision == link.revision.revision and bool(record.signed_pdf_path)
    path = record.signed_pdf_path if signed else link.revision.pdf_path
    if not path:
        raise NotFound("No such document")
    return Document(link=link, path=path, signed=signed)


# --- the page's forms, the same on every proposal page ---------------------------------------------------------

SIGN_FIELD = (
    '<label>Type your full name to sign <input type="text" name="name" autocomplete="name" maxlength="200">'
    '</label><button type="submit" name="decision" value="accept">Accept and sign</button>'
)


def accept_form(action: str, heading: str, fields: str) -> str:
    """The acceptance form: the module's choices and terms, then the typed name and the submit button."""
    return f'<form method="post" action="{escape(action)}"><h3>{escape(heading)}</h3>{fields}{SIGN_FIELD}</form>'


def decline_form(action: str) -> str:
    """The decline form with its optional reason."""
    return (
        f'<form method="post" action="{escape(action)}"><h3>Not for you?</h3>'
        '<label>Tell us why (optional) <textarea name="reason" rows="2" maxlength="1000"></textarea></label>'
        '<button type="submit" name="decision" value="decline" style="background:#777">Decline</button></form>'
    )
