"""`make dev`'s text catcher: sign-in codes and the app's texts are saved under the data folder, and a saved
code signs in."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from devhost.sms import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, TextCatcher
from shared.config import reset_settings_cache
from shared.providers import twilio_messaging
from tests.builders import client_ip, invite, register, unique_phone
from tests.conftest import Database, start_host


def _saved_code(directory: Path, phone: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for saved in sorted(directory.glob("*.txt")):
            text = saved.read_text()
            if f"To: {phone}\n" in text:
                return re.search(r"verification code is: (\d{6})", text).group(1)  # type: ignore[union-attr]
        time.sleep(0.1)
    raise AssertionError(f"no text to {phone} saved under {directory}")


def test_an_sms_sign_in_works_with_the_code_read_from_the_saved_text(database: Database, tmp_path: Path) -> None:
    # given a dev host that starts its own catchers (no TWILIO_* settings name a real Twilio)
    data_dir = tmp_path / "data"
    host = start_host("function_app:app", data_dir=data_dir)
    try:
        client = host.client()
        owner = register(client, tenant_name="Texting Auto")
        phone = unique_phone()
        invite(client, owner, role="tech", name="Tia Tech", phone=phone)
        # when the person asks for a code and types the one saved under .data/sms/
        ip = client_ip()
        started = client.post("/api/v1/auth/otp/start", headers=ip, json={"phone": phone})
        assert started.status_code == 202, started.text
        code = _saved_code(data_dir / "sms", phone)
        wrong = client.post(
            "/api/v1/auth/otp/verify",
            headers=ip,
            json={"phone": phone, "code": "000000" if code != "000000" else "111111"},
        )
        signed_in = client.post("/api/v1/auth/otp/verify", headers=ip, json={"phone": phone, "code": code})
        # then a wrong code is refused, the saved one signs in, and the host said where texts go
        assert wrong.status_code == 401, wrong.text
        assert signed_in.status_code == 200, signed_in.text
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"})
        assert me.status_code == 200 and me.json()["user"]["name"] == "Tia Tech"
        assert str(data_dir / "sms") in host.log_tail(200)
    finally:
        host.stop()


def test_a_text_the_app_sends_is_saved_and_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given the catcher the dev host starts, and the app's own Messages client pointed at it as the host does
    catcher = TextCatcher(tmp_path / "sms", account_sid=DEV_ACCOUNT_SID, auth_token=DEV_AUTH_TOKEN).start()
    for name, value in catcher.env().items():
        monkeypatch.setenv(name, value)
    reset_settings_cache()
    twilio_messaging.reset_client()
    try:
        # when the app texts a customer
        receipt = twilio_messaging.send_sms(
            to="+15125550123",
            body="Your car is ready.",
            from_number="+15125550199",
            messaging_service_sid=None,
            status_callback=None,
        )
    finally:
        catcher.stop()
        twilio_messaging.reset_client()
        reset_settings_cache()
    # then Twilio's answer came back and the text is saved whole
    assert receipt.provider_id.startswith("SM") and receipt.status == "queued"
    [saved] = sorted((tmp_path / "sms").glob("*.txt"))
    assert "To: +15125550123\nFrom: +15125550199\n" in saved.read_text()
    assert saved.read_text().endswith("\n\nYour car is ready.\n")
