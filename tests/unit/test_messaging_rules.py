"""Messaging rules without I/O: Twilio's signature vector, quiet hours, time zones, footer, templates, keywords."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.messaging import rules
from shared import twilio_signature

# Twilio's published example (docs: "Validating Signatures from Twilio").
VECTOR_TOKEN = "12345"
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
VECTOR_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_signature_matches_twilios_published_vector() -> None:
    assert twilio_signature.compute(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS.items()) == VECTOR_SIGNATURE
    assert twilio_signature.is_valid(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS.items(), VECTOR_SIGNATURE)


def test_signature_agrees_with_the_twilio_library() -> None:
    from twilio.request_validator import RequestValidator

    assert RequestValidator(VECTOR_TOKEN).validate(VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE)


@pytest.mark.parametrize("change", ["token", "url", "param", "missing"])
def test_a_changed_request_fails_the_signature(change: str) -> None:
    token, url, params = VECTOR_TOKEN, VECTOR_URL, dict(VECTOR_PARAMS)
    if change == "token":
        token = "54321"
    elif change == "url":
        url = url.replace("foo=1", "foo=2")
    elif change == "param":
        params["Digits"] = "9999"
    signature = None if change == "missing" else VECTOR_SIGNATURE
    assert not twilio_signature.is_valid(token, url, params.items(), signature)


def test_signature_is_checked_against_the_public_url_not_the_one_the_front_end_forwarded() -> None:
    forwarded = "http://10.0.0.4:7071/api/webhooks/twilio/status?tenant_id=t&message_id=m"
    assert (
        twilio_signature.public_url("https://api.tradeops.dev/", forwarded)
        == "https://api.tradeops.dev/api/webhooks/twilio/status?tenant_id=t&message_id=m"
    )
    # Twilio's validator also accepts the default port spelled out
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert twilio_signature.is_valid(VECTOR_TOKEN, with_port, VECTOR_PARAMS.items(), VECTOR_SIGNATURE)


CHICAGO = ZoneInfo("America/Chicago")


def _utc(local: str, zone: ZoneInfo = CHICAGO) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("local", "opens"),
    [
        ("2026-11-23 22:30", "2026-11-24 08:00"),
        ("2026-11-24 00:10", "2026-11-24 08:00"),
        ("2026-11-24 07:59", "2026-11-24 08:00"),
        ("2026-11-24 21:00", "2026-11-25 08:00"),
    ],
)
def test_quiet_hours_hold_a_message_until_eight_in_the_morning(local: str, opens: str) -> None:
    assert rules.next_open(_utc(local), CHICAGO, rules.windows(None, None)) == _utc(opens)


@pytest.mark.parametrize("local", ["2026-11-24 08:00", "2026-11-24 12:00", "2026-11-24 20:59"])
def test_daytime_messages_go_now(local: str) -> None:
    assert rules.next_open(_utc(local), CHICAGO, rules.windows(None, None)) is None


def test_a_stricter_business_window_adds_to_the_law_and_a_laxer_one_changes_nothing() -> None:
    stricter = rules.windows(time(19, 0), time(9, 0))
    assert rules.next_open(_utc("2026-11-24 19:30"), CHICAGO, stricter) == _utc("2026-11-25 09:00")
    assert rules.next_open(_utc("2026-11-24 08:30"), CHICAGO, stricter) == _utc("2026-11-24 09:00")
    laxer = rules.windows(time(23, 0), time(6, 0))
    assert rules.next_open(_utc("2026-11-24 22:00"), CHICAGO, laxer) == _utc("2026-11-25 08:00")


def test_quiet_hours_across_a_daylight_saving_change() -> None:
    # 2027-03-14 clocks go forward in Chicago; 08:00 CDT is 13:00 UTC
    assert rules.next_open(_utc("2027-03-13 23:00"), CHICAGO, rules.windows(None, None)) == datetime(
        2027, 3, 14, 13, 0, tzinfo=UTC
    )


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)),
    st.sampled_from(["America/New_York", "America/Los_Angeles", "Pacific/Honolulu", "Asia/Kolkata"]),
)
def test_next_open_is_never_inside_quiet_hours_and_never_more_than_eleven_hours_away(now: datetime, name: str) -> None:
    zone = ZoneInfo(name)
    opens = rules.next_open(now, zone, rules.windows(None, None))
    if opens is None:
        assert not rules.DEFAULT_WINDOW.contains(now.astimezone(zone).time())
    else:
        assert not rules.DEFAULT_WINDOW.contains(opens.astimezone(zone).time())
        assert opens > now
        assert (opens - now).total_seconds() <= 12 * 3600


@pytest.mark.parametrize(
    ("customer", "phone", "expected"),
    [
        ("Europe/Berlin", "+12125550100", "Europe/Berlin"),  # the customer's own zone wins
        (None, "+12125550100", "America/New_York"),  # else the area code (212 New York)
        (None, "+13105550100", "America/Los_Angeles"),  # 310 Los Angeles
        (None, "+16025550100", "America/Phoenix"),  # 602 Phoenix
        (None, "+15125550100", "America/Chicago"),  # 512 Austin
        (None, "+18085550100", "Pacific/Honolulu"),
        (None, "+442071838750", "America/Denver"),  # not NANP: the business's zone
        (None, None, "America/Denver"),
        ("Not/AZone", "+19995550100", "America/Denver"),  # unknown zone and area code
    ],
)
def test_the_recipients_zone(customer: str | None, phone: str | None, expected: str) -> None:
    assert rules.recipient_zone(customer_zone=customer, phone=phone, tenant_zone="America/Denver").key == expected


def test_area_code_table_covers_the_common_zones_with_valid_names() -> None:
    zones = set(rules.AREA_CODE_ZONES.values())
    assert {"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"} <= zones
    assert all(rules.zone_of(z) is not None for z in zones)
    assert len(rules.AREA_CODE_ZONES) > 300


def test_footer_is_added_once() -> None:
    body = rules.with_footer("Your car is ready.", "Reply STOP to opt out.")
    assert body == "Your car is ready.\nReply STOP to opt out."
    assert rules.with_footer(body, "Reply STOP to opt out.") == body


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("STOP", "STOP"),
        (" stop ", "STOP"),
        ("Stop.", "STOP"),
        ("unsubscribe", "UNSUBSCRIBE"),
        ("OPTOUT", "OPTOUT"),
        ("start", "START"),
        ("Unstop", "UNSTOP"),
        ("yes", "YES"),
        ("help", "HELP"),
        ("please stop texting me", None),
        ("Is my car ready?", None),
        ("", None),
    ],
)
def test_keywords_are_the_whole_message(text: str, word: str | None) -> None:
    assert rules.keyword(text) == word


def test_templates_name_only_known_or_declared_placeholders() -> None:
    assert rules.check_template(["Hi {first_name}, {vehicle} is ready"], {"vehicle"}) == {"first_name", "vehicle"}
    with pytest.raises(rules.TemplateError, match="vehicle"):
        rules.check_template(["Hi {first_name}, {vehicle} is ready"], set())
    for bad in ["Hi {first_name", "Hi {0}", "Hi {first_name!r}", "Hi {first_name:>10}", "Hi {a.b}"]:
        with pytest.raises(rules.TemplateError):
            rules.check_template([bad], {"a"})


def test_rendering_refuses_a_missing_value_instead_of_sending_braces() -> None:
    assert rules.render("Hi {first_name}", {"first_name": "Ada {x}"}) == "Hi Ada {x}"
    with pytest.raises(rules.TemplateError, match="first_name"):
        rules.render("Hi {first_name}", {})
