"""Pure lead rules: normalising phone and email, the consent source, quiet hours and the first-answer table."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.leads import rules
from blueprints.leads.rules import Action
from blueprints.messaging import service as messaging

CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(512) 555-0123", "+15125550123"),
        ("512.555.0123", "+15125550123"),
        ("1 512 555 0123", "+15125550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_phones_become_e164(raw: str | None, e164: str | None) -> None:
    assert rules.normal_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12", "555-0123", "(112) 555-0123", "phone me"])
def test_a_number_that_cannot_be_dialled_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        rules.normal_phone(raw)


@pytest.mark.parametrize(
    ("raw", "normal"), [(" Hank@Example.COM ", "hank@example.com"), ("a@b.co", "a@b.co"), ("", None), (None, None)]
)
def test_emails_are_trimmed_and_lower_cased(raw: str | None, normal: str | None) -> None:
    assert rules.normal_email(raw) == normal


def test_the_consent_source_names_the_wording_by_its_digest_and_fits_the_ledger() -> None:
    wording = "I agree to receive texts about my request. " * 20
    source = rules.consent_source(wording)
    assert source.startswith("lead_form:") and len(source) == 64
    assert rules.consent_source(f"  {wording}  ") == source  # surrounding space is not wording
    assert rules.consent_source(wording + "!") != source


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=CHICAGO)


@pytest.mark.parametrize(
    ("local", "opens"),
    [
        (_at(14, 0), None),
        (_at(8, 0), None),
        (_at(20, 59), None),
        (_at(21, 0), datetime(2026, 12, 2, 8, 0, tzinfo=CHICAGO)),
        (_at(23, 30), datetime(2026, 12, 2, 8, 0, tzinfo=CHICAGO)),
        (_at(3, 0), _at(8, 0)),
        (_at(7, 59), _at(8, 0)),
    ],
)
def test_texts_open_at_eight_after_the_legal_window(local: datetime, opens: datetime | None) -> None:
    assert messaging.texts_open_at(now=local, zone=CHICAGO, quiet_hours=None) == opens


def test_a_business_window_adds_to_the_law_never_loosens_it() -> None:
    stricter = (time(18, 0), time(9, 30))
    opens = messaging.texts_open_at(now=_at(19, 0), zone=CHICAGO, quiet_hours=stricter)
    assert opens == datetime(2026, 12, 2, 9, 30, tzinfo=CHICAGO)
    assert messaging.texts_open_at(now=_at(8, 30), zone=CHICAGO, quiet_hours=stricter) == _at(9, 30)
    looser = (time(23, 0), time(6, 0))
    assert messaging.texts_open_at(now=_at(7, 0), zone=CHICAGO, quiet_hours=looser) == _at(8, 0)


def test_the_lead_zone_is_its_own_when_known_else_the_business_zone() -> None:
    assert rules.lead_zone("America/New_York", "America/Chicago") == ZoneInfo("America/New_York")
    assert rules.lead_zone(None, "America/Chicago") == CHICAGO
    assert rules.lead_zone("Not/AZone", "America/Chicago") == CHICAGO


OPEN_AT = _at(8)
# (sms allowed, email allowed, quiet) -> (action, tell the owner): the brief's order, written out.
DECISIONS = {
    (True, True, False): (Action.SMS, False),
    (True, False, False): (Action.SMS, False),
    (False, True, False): (Action.EMAIL, False),
    (False, False, False): (Action.NONE, True),
    (True, True, True): (Action.EMAIL, False),
    (True, False, True): (Action.SCHEDULE_SMS, True),
    (False, True, True): (Action.EMAIL, False),
    (False, False, True): (Action.NONE, True),
}


@pytest.mark.parametrize(("case", "expected"), DECISIONS.items())
def test_the_first_answer_decision_table(case: tuple[bool, bool, bool], expected: tuple[Action, bool]) -> None:
    sms, email, quiet = case
    decision = rules.first_answer(sms_allowed=sms, email_allowed=email, texts_open=OPEN_AT if quiet else None)
    assert (decision.action, decision.tell_owner) == expected
    if decision.action == Action.SCHEDULE_SMS:
        assert decision.at == OPEN_AT


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.sampled_from(["America/Chicago", "America/New_York", "Pacific/Honolulu", "Asia/Kolkata", "Etc/GMT+3"]),
    st.booleans(),
    st.booleans(),
)
def test_no_decision_ever_texts_in_quiet_hours(now: datetime, zone_name: str, sms: bool, email: bool) -> None:
    zone = ZoneInfo(zone_name)
    opens = messaging.texts_open_at(now=now, zone=zone, quiet_hours=None)
    decision = rules.first_answer(sms_allowed=sms, email_allowed=email, texts_open=opens)
    local = now.astimezone(zone).time()
    quiet = local >= time(21, 0) or local < time(8, 0)
    assert (opens is not None) == quiet
    if decision.action == Action.SMS:
        assert not quiet
    if decision.action == Action.SCHEDULE_SMS:
        assert decision.at is not None and decision.at > now
        assert decision.at.astimezone(zone).time() == time(8, 0)
        assert decision.at - now <= timedelta(hours=11)


def test_the_week_starts_on_monday_at_midnight_in_the_business_zone() -> None:
    # Tuesday 1 December 2026, 03:00 UTC is Monday 30 November 21:00 in Chicago
    assert rules.week_start(datetime(2026, 12, 1, 3, 0, tzinfo=UTC), CHICAGO) == datetime(
        2026, 11, 30, 0, 0, tzinfo=CHICAGO
    )
