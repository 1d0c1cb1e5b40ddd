"""Payments: immutable entries; a void is a reversing entry; the appointment's paid amount follows.

The app role may only SELECT and INSERT payments (migration 0004), so no code path can edit one.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blueprints.shop.common import appointment_or_raise, bump_stats_version
from blueprints.shop.models import Appointment, Payment
from blueprints.shop.schemas import PaymentIn, PaymentOut, PaymentResult, VoidIn
from shared import audit, clock
from shared.auth import Principal
from shared.errors import Conflict, NotFound, Unprocessable
from shared.etag import flush_versioned


def _result(payment: Payment, appointment: Appointment) -> PaymentResult:
    return PaymentResult(
        payment=PaymentOut.model_validate(payment),
        total_cents=appointment.total_cents,
        paid_cents=appointment.paid_cents,
        balance_cents=appointment.total_cents - appointment.paid_cents,
    )


def _insert(session: Session, appointment: Appointment, payment: Payment) -> None:
    session.add(payment)
    appointment.paid_cents += payment.amount_cents
    appointment.updated_at = clock.now()
    try:
        flush_versioned(session)
    except IntegrityError as exc:
        if "uq_payments_voids_payment_id" in str(exc.orig):
            raise Conflict("This payment is already voided", code="already_voided") from None
        raise


def record(
    *, session: Session, principal: Principal, appointment_id: uuid.UUID, payment_in: PaymentIn, actor: audit.Actor
) -> PaymentResult:
    """Record money received; more than the balance is refused unless allow_overpayment says so."""
    appointment = appointment_or_raise(session, principal.tenant_id, appointment_id, lock=True)
    balance = appointment.total_cents - appointment.paid_cents
    if payment_in.amount_cents > balance and not payment_in.allow_overpayment:
        raise Unprocessable(
            f"{payment_in.amount_cents} cents is more than the balance of {balance} cents; "
            "set allow_overpayment to take it anyway",
            code="overpayment",
            balance_cents=balance,
        )
    payment = Payment(
        id=uuid.uuid4(),
        tenant_id=appointment.tenant_id,
        appointment_id=appointment.id,
        kind="payment",
        amount_cents=payment_in.amount_cents,
        currency=appointment.currency,
        method=payment_in.method,
        note=payment_in.note,
        created_by=principal.user_id,
        created_at=clock.now(),
    )
    _insert(session, appointment, payment)
    result = _result(payment, appointment)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="payments.recorded",
        entity="appointment",
        entity_id=appointment.id,
        after={**(audit.snapshot(result.payment) or {}), "overpayment": payment_in.amount_cents > balance},
    )
    bump_stats_version(session, principal.tenant_id)
    return result


def void(
    *, session: Session, principal: Principal, payment_id: uuid.UUID, void_in: VoidIn, actor: audit.Actor
) -> PaymentResult:
    """Reverse a payment with a new negative entry; the original stays as it was."""
    original = session.scalars(
        select(Payment).where(Payment.id == payment_id, Payment.tenant_id == principal.tenant_id)
    ).first()
    if original is None:
        raise NotFound("No such payment")
    if original.kind != "payment":
        raise Conflict("A void cannot itself be voided", code="not_voidable")
    appointment = appointment_or_raise(session, principal.tenant_id, original.appointment_id, lock=True)
    voided = session.scalar(
        select(Payment.id).where(Payment.tenant_id == principal.tenant_id, Payment.voids_payment_id == original.id)
    )
    if voided is not None:
        raise Conflict("This payment is already voided", code="already_voided")
    reversal = Payment(
        id=uuid.uuid4(),
        tenant_id=original.tenant_id,
        appointment_id=original.appointment_id,
        kind="void",
        amount_cents=-original.amount_cents,
        currency=original.currency,
        method=original.method,
        note=void_in.reason,
        voids_payment_id=original.id,
        created_by=principal.user_id,
        created_at=clock.now(),
    )
    _insert(session, appointment, reversal)
    result = _result(reversal, appointment)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="payments.voided",
        entity="appointment",
        entity_id=appointment.id,
        before=audit.snapshot(PaymentOut.model_validate(original)),
        after=audit.snapshot(result.payment),
    )
    bump_stats_version(session, principal.tenant_id)
    return result


def list_payments(*, session: Session, principal: Principal, appointment_id: uuid.UUID) -> list[PaymentOut]:
    """An appointment's payments and voids, oldest first."""
    appointment = appointment_or_raise(session, principal.tenant_id, appointment_id)
    stmt = select(Payment).where(Payment.tenant_id == appointment.tenant_id, Payment.appointment_id == appointment.id)
    return [PaymentOut.model_validate(p) for p in session.scalars(stmt.order_by(Payment.created_at, Payment.id))]
