"""Phone numbers, emails, tokens and codes never reach a log line."""

from __future__ import annotations

import io
import json
import logging

from shared.telemetry import JsonFormatter, redact, request_id_var


def test_free_text_loses_personal_data_and_secrets() -> None:
    line = (
        "texting +14155550123 and (415) 555-0199 for ada@example.com with "
        "Authorization: Bearer abc.def.ghi code=493817 password=hunter2 "
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"
    )
    cleaned = redact(line)
    for secret in ("4155550123", "555-0199", "ada@example.com", "abc.def.ghi", "493817", "hunter2", "eyJhbGci"):
        assert secret not in cleaned
    assert "texting" in cleaned


def test_ordinary_numbers_survive() -> None:
    assert redact("took 1234 ms for 3 items, status 200") == "took 1234 ms for 3 items, status 200"


def test_json_lines_carry_context_and_redact_extra_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    token = request_id_var.set("req-123")
    try:
        logger.warning("otp sent to %s", "+442079460000", extra={"phone": "+442079460000", "duration_ms": 12.5})
    finally:
        request_id_var.reset(token)
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert entry["request_id"] == "req-123"
    assert entry["duration_ms"] == 12.5
    assert "+442079460000" not in stream.getvalue()
    assert entry["phone"] == "[redacted]"


def test_the_request_line_never_shows_a_link_token() -> None:
    import azure.functions as func

    from shared.http import RouteSpec, dispatch

    token = "091a80ee09d04dafb65efd003ac157dc.6PkO2LCHr302J3bDJ0X6Nx2syN7UdH-17ujK6wOFP-4"
    spec = RouteSpec(
        name="page",
        module="t",
        route="v1/auth/password-links/{token}",
        methods=["GET"],
        auth="anonymous",
        summary="t",
        content_type="text/html",
    )
    raw = func.HttpRequest(
        "GET", f"http://h/api/v1/auth/password-links/{token}", headers={}, body=b"", route_params={"token": token}
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tradeops.http")
    logger.addHandler(handler)
    level, disabled = logger.level, logger.disabled
    logger.setLevel(logging.INFO)
    logger.disabled = False  # another test's logging set-up may have switched it off
    try:
        response = dispatch(spec, lambda req: "<p>hello</p>", raw)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled
    assert response.status_code == 200
    line = stream.getvalue()
    assert "/api/v1/auth/password-links/[redacted] -> 200" in line and token not in line and "6PkO2L" not in line


def test_record_ids_stay_whole_while_a_phone_beside_them_goes() -> None:
    # a UUID whose digit groups look like a phone number was half blanked, so its log lines could not be found
    line = "outbound message eaf92329-0600-4707-9291-948a1469480b: sent to 512-555-0100"
    assert redact(line) == "outbound message eaf92329-0600-4707-9291-948a1469480b: sent to [redacted]"
