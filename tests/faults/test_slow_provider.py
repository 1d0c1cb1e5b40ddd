"""Slow providers: the Twilio and SMTP fakes answer only after 20 s. The request path never waits on them;
sends time out; an email is retried with the same Message-ID; a text whose answer never came is not sent
again (Twilio takes no idempotency key, so a retry could text the customer twice)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devhost.services import Azurite
from tests.builders import register, unique_email, unique_phone
from tests.conftest import Database, RunningHost, start_host
from tests.fakes import smtp as smtp_fake
from tests.fakes import twilio_messaging as twilio_fake

PROVIDER_DELAY_SECONDS = 20
TIMEOUT_SECONDS = "2"  # the app's own provider timeouts, well under the fakes' delay


class SlowTwilio(twilio_fake.FakeTwilioMessaging):
    """The Messages API answering only after PROVIDER_DELAY_SECONDS (or once released)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.arrived: list[float] = []

    def create_message(self, account_sid: str, form: dict[str, str]) -> twilio_fake.Answer:
        """Hold the call, then answer as Twilio would."""
        self.arrived.append(time.monotonic())
        self.release.wait(PROVIDER_DELAY_SECONDS)
        return super().create_message(account_sid, form)


class SlowSmtp(smtp_fake.FakeSmtp):
    """An SMTP relay that takes PROVIDER_DELAY_SECONDS (or until released) to answer DATA."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.data_attempts = 0  # DATA commands held (the base fake counts RCPTs per address in attempts)

    def start(self) -> SlowSmtp:
        """Serve, with the handler slowed down."""
        super().start()
        assert self._controller is not None
        handler = self._controller.handler
        original = handler.handle_DATA

        async def slow_data(server: Any, session: Any, envelope: Any) -> str:
            import asyncio

            self.data_attempts += 1
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, PROVIDER_DELAY_SECONDS)
            return await original(server, session, envelope)

        handler.handle_DATA = slow_data
        return self


@pytest.fixture
def slow() -> Iterator[tuple[SlowTwilio, SlowSmtp]]:
    """Both slow fakes; released at the end so no thread waits out its delay."""
    twilio, smtp = SlowTwilio().start(), SlowSmtp().start()
    yield twilio, smtp
    twilio.release.set()
    smtp.release.set()
    twilio.stop()
    smtp.stop()


@pytest.fixture
def host(database: Database, private_azurite: Azurite, slow: tuple[SlowTwilio, SlowSmtp]) -> Iterator[RunningHost]:
    """The app with its provider timeouts at 2 s, talking to the slow fakes."""
    twilio, smtp = slow
    running = start_host(
        "function_app:app",
        env={
            "AzureWebJobsStorage": private_azurite.connection_string,
            "TWILIO_ACCOUNT_SID": twilio_fake.ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": twilio_fake.AUTH_TOKEN,
            "TWILIO_API_BASE_URL": twilio.base_url,
            "TWILIO_TIMEOUT_SECONDS": TIMEOUT_SECONDS,
            "MESSAGING_RETRY_BASE_SECONDS": "1",
            "SMTP_TIMEOUT_SECONDS": TIMEOUT_SECONDS,
            "SMTP_FROM": "shop@example.com",
            **smtp.env(),
        },
    )
    yield running
    running.stop()


def _until(condition: Any, bound: float = 40) -> bool:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline and not condition():
        time.sleep(0.2)
    return bool(condition())


def test_a_text_to_a_slow_twilio_times_out_and_is_never_sent_twice(
    host: RunningHost, slow: tuple[SlowTwilio, SlowSmtp]
) -> None:
    twilio, _ = slow
    client = host.client()
    owner = register(client, tenant_name="Slow Auto")
    client.put("/api/v1/messaging/settings", headers=owner.headers, json={"sms_from_number": unique_phone()})
    customer = client.post(
        "/api/v1/crm/customers", headers=owner.headers, json={"name": "Ada", "phone": unique_phone()}
    )
    client.post(
        f"/api/v1/messaging/customers/{customer.json()['id']}/consents",
        headers=owner.headers,
        json={"channel": "sms", "purpose": "transactional", "granted": True, "source": "counter"},
    )
    # when the desk texts while Twilio is slow
    sent = client.post(
        "/api/v1/messages",
        headers=owner.headers,
        json={"customer_id": customer.json()["id"], "channel": "sms", "purpose": "transactional", "body": "Ready"},
    )
    # then the request answered before Twilio did: it never waits on the provider
    assert sent.status_code == 202 and twilio.requests == []
    path = f"/api/v1/messages/{sent.json()['id']}"
    assert _until(lambda: client.get(path, headers=owner.headers).json()["status"] == "failed"), host.log_tail()
    message = client.get(path, headers=owner.headers).json()
    # and the timed-out send is failed for the desk to see, not sent again behind the customer's back
    assert message["error_code"] == "provider_timeout", message
    twilio.release.set()
    assert _until(lambda: len(twilio.requests) == 1)
    time.sleep(2)
    assert len(twilio.arrived) == 1 and len(twilio.sent) == 1


def test_an_invitation_to_a_slow_relay_times_out_and_is_retried_with_the_same_message_id(
    host: RunningHost, slow: tuple[SlowTwilio, SlowSmtp]
) -> None:
    _, smtp = slow
    client = host.client()
    owner = register(client, tenant_name="Slow Paint")
    email = unique_email("slow")
    # when someone is invited by email while the relay is slow
    invited = client.post("/api/v1/users", headers=owner.headers, json={"name": "Ivy", "email": email, "role": "tech"})
    # then the invitation answered before the relay did, and the email is retried after the timeouts
    assert invited.status_code == 201 and smtp.messages == []
    assert _until(lambda: smtp.data_attempts >= 2), host.log_tail()
    smtp.release.set()
    assert _until(lambda: any(email in m.rcpt_tos for m in smtp.messages))
    time.sleep(2)
    copies = [m for m in smtp.messages if email in m.rcpt_tos]
    # every copy a timed-out attempt left at the relay carries one Message-ID, so receivers keep one
    assert len({m.message["Message-ID"] for m in copies}) == 1, [m.message["Message-ID"] for m in copies]
