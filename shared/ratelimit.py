"""Sliding-window rate limits kept in PostgreSQL, exact across instances.

Each limit is a bucket of hit times. A transaction that checks or counts a bucket first takes a
transaction-scoped advisory lock on it, so concurrent instances see each other's hits in order.
Bucket names are hashed: a bucket named after an email, phone or IP stores no personal data.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, DateTime, Identity, String, delete, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared import clock
from shared.db import Base, affected
from shared.errors import RateLimited


class RateLimitHit(Base):
    """One counted event in one bucket (global table: buckets are checked before a tenant is known)."""

    __tablename__ = "rate_limit_hits"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    hit_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


@dataclass(frozen=True)
class Limit:
    """At most `limit` hits per `window_seconds` in one bucket."""

    name: str
    limit: int
    window_seconds: int


def bucket_key(limit: Limit, subject: str) -> str:
    """The stored bucket name for a limit and a subject (hashed, so no address or number is stored)."""
    digest = hashlib.sha256(f"{limit.name}\x00{subject}".encode()).hexdigest()
    return digest[:64]


def _lock(session: Session, bucket: str) -> None:
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:bucket, 0))"), {"bucket": bucket})


def retry_after(session: Session, *, limit: Limit, subject: str) -> int | None:
    """Seconds until the bucket has room again, or None when it has room now (locks the bucket)."""
    bucket = bucket_key(limit, subject)
    _lock(session, bucket)
    now = clock.now()
    since = now - timedelta(seconds=limit.window_seconds)
    session.execute(delete(RateLimitHit).where(RateLimitHit.bucket == bucket, RateLimitHit.hit_at <= since))
    count, oldest = session.execute(
        select(func.count(), func.min(RateLimitHit.hit_at)).where(
            RateLimitHit.bucket == bucket, RateLimitHit.hit_at > since
        )
    ).one()
    if count < limit.limit:
        return None
    # The window frees a slot when the oldest hits age out; with N over the limit that is the Nth oldest.
    excess = count - limit.limit
    times = session.scalars(
        select(RateLimitHit.hit_at)
        .where(RateLimitHit.bucket == bucket, RateLimitHit.hit_at > since)
        .order_by(RateLimitHit.hit_at)
        .offset(excess)
        .limit(1)
    ).all()
    frees_at = (times[0] if times else oldest) + timedelta(seconds=limit.window_seconds)
    return max(1, math.ceil((frees_at - now).total_seconds()))


def check(session: Session, *, limit: Limit, subject: str, detail: str | None = None) -> None:
    """429 with Retry-After when the bucket is full; otherwise nothing (the bucket stays locked)."""
    wait = retry_after(session, limit=limit, subject=subject)
    if wait is not None:
        raise RateLimited(detail or "Too many attempts; try again later", retry_after=wait)


def hit(session: Session, *, limit: Limit, subject: str) -> None:
    """Count one event in the bucket."""
    bucket = bucket_key(limit, subject)
    _lock(session, bucket)
    session.add(RateLimitHit(bucket=bucket, hit_at=clock.now()))
    session.flush()


def consume(session: Session, *, limit: Limit, subject: str, detail: str | None = None) -> None:
    """Check the bucket and count this event in one step (429 when full)."""
    check(session, limit=limit, subject=subject, detail=detail)
    hit(session, limit=limit, subject=subject)


def purge_older_than(session: Session, moment: datetime) -> int:
    """Forget hits older than every window (housekeeping); returns how many."""
    return affected(session, delete(RateLimitHit).where(RateLimitHit.hit_at < moment))
