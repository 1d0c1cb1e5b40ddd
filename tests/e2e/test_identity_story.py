"""Signing in over HTTP through the dev host, with Twilio Verify played by a loopback fake.

The acceptance story: a person registers, invites an estimator and a tech, each signs in (password and
SMS code) and sees only what the role table allows. Then the OTP rules, cookies, refresh and logout.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from tests.builders import Account, client_ip, invite, login, register, unique_email, unique_phone
from tests.conftest import Database, RunningHost, start_host
from tests.fakes.twilio_verify import FakeVerify

SERVICE_SID = "VA" + "1" * 32


@pytest.fixture(scope="module")
def verify() -> Iterator[FakeVerify]:
    fake = FakeVerify().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def host(database: Database, verify: FakeVerify) -> Iterator[RunningHost]:
    running = start_host(
        "function_app:app",
        env={
            "TWILIO_BASE_URL": verify.base_url,
            "TWILIO_ACCOUNT_SID": verify.account_sid,
            "TWILIO_AUTH_TOKEN": verify.auth_token,
            "TWILIO_VERIFY_SERVICE_SID": SERVICE_SID,
        },
    )
    yield running
    running.stop()


@pytest.fixture
def client(host: RunningHost) -> Iterator[httpx.Client]:
    with host.client() as c:
        yield c


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def _otp_sign_in(client: httpx.Client, verify: FakeVerify, phone: str, *, typed: str | None = None) -> Account:
    ip = client_ip()
    started = client.post("/api/v1/auth/otp/start", headers=ip, json={"phone": typed or phone})
    assert started.status_code == 202, started.text
    body = {"phone": typed or phone, "code": verify.last_code(phone)}
    verified = client.post("/api/v1/auth/otp/verify", headers=ip, json=body)
    assert verified.status_code == 200, verified.text
    tokens = verified.json()
    return Account(email=None, access_token=tokens["access_token"], refresh_token=tokens["refresh_token"])


def _ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_register_invite_sign_in_and_see_only_what_the_role_allows(client: httpx.Client, verify: FakeVerify) -> None:
    # given a new business whose owner invites an estimator and a tech, each with an email and a phone
    owner = register(client, tenant_name="Edgar's Auto & Paint")
    estimator_phone, tech_phone = unique_phone(), unique_phone()
    estimator_email = invite(
        client, owner, role="estimator", name="Erin Estimator", email=unique_email("erin"), phone=estimator_phone
    )["email"]
    tech_email = invite(client, owner, role="tech", name="Tom Tech", email=unique_email("tom"), phone=tech_phone)[
        "email"
    ]
    # when each signs in both ways: by password and by a texted code
    estimator = login(client, email=estimator_email)
    estimator_by_sms = _otp_sign_in(client, verify, estimator_phone)
    tech_by_password = login(client, email=tech_email)
    typed = f"({tech_phone[2:5]}) {tech_phone[5:8]}-{tech_phone[8:]}"  # as people type it; stored as E.164
    tech = _otp_sign_in(client, verify, tech_phone, typed=typed)
    for account, role in ((estimator_by_sms, "estimator"), (tech_by_password, "tech")):
        assert client.get("/api/v1/me", headers=account.headers).json()["user"]["role"] == role
    me = client.get("/api/v1/me", headers=tech.headers).json()
    assert me["user"]["role"] == "tech" and me["tenant"]["name"] == "Edgar's Auto & Paint"
    assert "customers.update" not in me["permissions"] and "customers.read" in me["permissions"]
    # and the owner and the estimator each add a customer
    owners_customer = client.post(
        "/api/v1/crm/customers", headers=owner.headers, json={"name": "Ada Lovelace", "phone": "512-555-0134"}
    ).json()
    assert owners_customer["phone"] == "+15125550134"
    estimators_customer = client.post(
        "/api/v1/crm/customers", headers=estimator.headers, json={"name": "Bea Builder"}
    ).json()
    # then the estimator sees only their own customer, and the owner's answers 404
    assert _ids(client.get("/api/v1/crm/customers", headers=estimator.headers)) == {estimators_customer["id"]}
    hidden = client.get(f"/api/v1/crm/customers/{owners_customer['id']}", headers=estimator.headers)
    assert hidden.status_code == 404
    # until the owner shares it
    shared = client.post(
        f"/api/v1/crm/customers/{owners_customer['id']}/shares",
        headers=owner.headers,
        json={"user_id": estimator.user_id},
    )
    assert shared.status_code == 200, shared.text
    assert _ids(client.get("/api/v1/crm/customers", headers=estimator.headers)) == {
        owners_customer["id"],
        estimators_customer["id"],
    }
    # the tech reads every customer but may not edit one, nor manage people
    assert _ids(client.get("/api/v1/crm/customers", headers=tech.headers)) == {
        owners_customer["id"],
        estimators_customer["id"],
    }
    edit = client.patch(
        f"/api/v1/crm/customers/{owners_customer['id']}", headers={**tech.headers, "If-Match": "*"}, json={"notes": "x"}
    )
    assert edit.status_code == 403
    assert client.get("/api/v1/users", headers=tech.headers).status_code == 403
    assert client.get("/api/v1/users", headers=estimator.headers).status_code == 403
    # and the owner's audit log tells what happened
    actions = {a["action"] for a in client.get("/api/v1/audit", headers=owner.headers).json()["items"]}
    assert {"tenant.registered", "users.invited", "auth.signed_in", "customers.shared"} <= actions


def test_login_sets_a_strict_http_only_secure_refresh_cookie(client: httpx.Client) -> None:
    owner = register(client)
    response = client.post(
        "/api/v1/auth/login",
        headers=client_ip(),
        json={"email": owner.email, "password": "correct horse battery staple"},
    )
    cookie = response.headers["set-cookie"]
    assert f"tradeops_refresh={response.json()['refresh_token']}" in cookie
    assert all(flag in cookie for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"))
    assert response.json()["token_type"] == "Bearer" and response.json()["expires_in"] == 900


def test_refresh_by_cookie_rotates_and_a_reused_token_ends_the_session(client: httpx.Client) -> None:
    owner = register(client)
    first = client.post("/api/v1/auth/refresh", headers={"Cookie": f"tradeops_refresh={owner.refresh_token}"})
    assert first.status_code == 200, first.text
    newer = first.json()["refresh_token"]
    assert newer != owner.refresh_token and newer in first.headers["set-cookie"]
    reused = client.post("/api/v1/auth/refresh", json={"refresh_token": owner.refresh_token})
    assert reused.status_code == 401 and reused.json()["code"] == "refresh_token_reused"
    after = client.post("/api/v1/auth/refresh", json={"refresh_token": newer})
    assert after.status_code == 401 and after.json()["code"] == "session_ended"
    # the family's access tokens stop working too
    newest_access = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert client.get("/api/v1/me", headers=newest_access).status_code == 401


def test_logout_ends_the_session(client: httpx.Client) -> None:
    owner = register(client)
    out = client.post("/api/v1/auth/logout", headers=owner.headers)
    assert out.status_code == 204 and "Max-Age=0" in out.headers["set-cookie"]
    assert client.get("/api/v1/me", headers=owner.headers).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": owner.refresh_token}).status_code == 401


def test_wrong_code_then_right_code(client: httpx.Client, verify: FakeVerify) -> None:
    owner = register(client)
    phone = unique_phone()
    invite(client, owner, role="advisor", phone=phone)
    ip = client_ip()
    assert client.post("/api/v1/auth/otp/start", headers=ip, json={"phone": phone}).status_code == 202
    wrong_code = {"phone": phone, "code": _wrong(verify.last_code(phone))}
    wrong = client.post("/api/v1/auth/otp/verify", headers=ip, json=wrong_code)
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_code"
    right = client.post("/api/v1/auth/otp/verify", headers=ip, json={"phone": phone, "code": verify.last_code(phone)})
    assert right.status_code == 200, right.text


def test_the_sixth_check_of_a_code_is_refused_even_when_right(client: httpx.Client, verify: FakeVerify) -> None:
    owner = register(client)
    phone = unique_phone()
    invite(client, owner, role="tech", phone=phone)
    ip = client_ip()
    client.post("/api/v1/auth/otp/start", headers=ip, json={"phone": phone})
    code = verify.last_code(phone)
    for _ in range(5):
        attempt = client.post("/api/v1/auth/otp/verify", headers=ip, json={"phone": phone, "code": _wrong(code)})
        assert attempt.status_code == 401
    sixth = client.post("/api/v1/auth/otp/verify", headers=ip, json={"phone": phone, "code": code})
    assert sixth.status_code == 429
    assert sixth.json()["code"] == "too_many_checks" and int(sixth.headers["Retry-After"]) > 0


def test_an_expired_code_is_refused(client: httpx.Client, verify: FakeVerify) -> None:
    owner = register(client)
    phone = unique_phone()
    invite(client, owner, role="tech", phone=phone)
    ip = client_ip()
    client.post("/api/v1/auth/otp/start", headers=ip, json={"phone": phone})
    code = verify.last_code(phone)
    verify.advance(timedelta(minutes=10, seconds=1))
    try:
        late = client.post("/api/v1/auth/otp/verify", headers=ip, json={"phone": phone, "code": code})
    finally:
        verify.advance(-timedelta(minutes=10, seconds=1))
    assert late.status_code == 401 and late.json()["code"] == "code_expired"


def test_start_answers_the_same_for_unknown_numbers_and_texts_nobody(client: httpx.Client, verify: FakeVerify) -> None:
    owner = register(client)
    known = unique_phone()
    invite(client, owner, role="tech", phone=known)
    unknown = unique_phone()
    answers = [client.post("/api/v1/auth/otp/start", headers=client_ip(), json={"phone": p}) for p in (known, unknown)]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()
    assert [to for to, _ in verify.sent if to == unknown] == []
    assert [to for to, _ in verify.sent if to == known] == [known]


def test_code_requests_per_phone_are_limited_tighter_than_twilio(client: httpx.Client, verify: FakeVerify) -> None:
    owner = register(client)
    phone = unique_phone()
    invite(client, owner, role="tech", phone=phone)
    statuses = [client.post("/api/v1/auth/otp/start", headers=client_ip(), json={"phone": phone}) for _ in range(4)]
    assert [s.status_code for s in statuses] == [202, 202, 202, 429]
    assert 0 < int(statuses[-1].headers["Retry-After"]) <= 600
    assert len([to for to, _ in verify.sent if to == phone]) == 3  # Twilio's own limit (5) is never reached


def test_five_wrong_passwords_then_even_the_right_one_waits(client: httpx.Client) -> None:
    owner = register(client)
    for n in range(5):
        attempt = {"email": owner.email, "password": f"nope{n}"}
        wrong = client.post("/api/v1/auth/login", headers=client_ip(), json=attempt)
        assert wrong.status_code == 401
    right = client.post(
        "/api/v1/auth/login",
        headers=client_ip(),
        json={"email": owner.email, "password": "correct horse battery staple"},
    )
    assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0


def test_sign_ups_from_one_address_are_limited_and_a_taken_email_counts_too(client: httpx.Client) -> None:
    ip = client_ip()
    taken = register(client).email

    def sign_up(email: str) -> httpx.Response:
        return client.post(
            "/api/v1/auth/register",
            headers=ip,
            json={
                "tenant_name": "Spam Paint Co",
                "name": "Sam Spammer",
                "email": email,
                "password": "correct horse battery staple",
                "timezone": "America/Chicago",
            },
        )

    answers = [sign_up(unique_email("spam")) for _ in range(4)] + [sign_up(taken)]
    assert [a.status_code for a in answers] == [201, 201, 201, 201, 409]
    sixth = sign_up(unique_email("spam"))
    assert sixth.status_code == 429 and sixth.json()["code"] == "rate_limited"
    assert 0 < int(sixth.headers["Retry-After"]) <= 3600
    assert register(client).access_token  # another address still signs up


def test_changing_the_password_needs_the_current_one_and_ends_the_other_sessions(client: httpx.Client) -> None:
    owner = register(client)
    phone_session, this_session = login(client, email=owner.email or ""), login(client, email=owner.email or "")
    new = "another long password 99"
    wrong = client.post(
        "/api/v1/me/password",
        headers=this_session.headers,
        json={"current_password": "not my password", "new_password": new},
    )
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_password"
    short = client.post(
        "/api/v1/me/password",
        headers=this_session.headers,
        json={"current_password": "correct horse battery staple", "new_password": "short"},
    )
    assert short.status_code == 422
    changed = client.post(
        "/api/v1/me/password",
        headers=this_session.headers,
        json={"current_password": "correct horse battery staple", "new_password": new},
    )
    assert changed.status_code == 204, changed.text
    assert client.get("/api/v1/me", headers=this_session.headers).status_code == 200  # this device stays signed in
    assert client.get("/api/v1/me", headers=phone_session.headers).status_code == 401  # every other one is out
    assert client.get("/api/v1/me", headers=owner.headers).status_code == 401
    assert login(client, email=owner.email or "", password=new).user_id == owner.user_id
    for n in range(4):  # with the wrong one: 5 misses in 15 minutes, then even the right one waits
        client.post(
            "/api/v1/me/password",
            headers=this_session.headers,
            json={"current_password": f"nope {n}", "new_password": new},
        )
    locked = client.post(
        "/api/v1/me/password",
        headers=this_session.headers,
        json={"current_password": new, "new_password": "and yet another one 7"},
    )
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0


def test_signing_out_everywhere_ends_every_session_of_the_person_only(client: httpx.Client) -> None:
    owner = register(client)
    laptop, phone = login(client, email=owner.email or ""), login(client, email=owner.email or "")
    colleague = login(client, email=invite(client, owner, role="advisor")["email"])
    out = client.post("/api/v1/auth/logout-all", headers=phone.headers)
    assert out.status_code == 204 and "Max-Age=0" in out.headers["set-cookie"]
    for account in (owner, laptop, phone):
        assert client.get("/api/v1/me", headers=account.headers).status_code == 401
    refreshed = client.post("/api/v1/auth/refresh", headers=client_ip(), json={"refresh_token": laptop.refresh_token})
    assert refreshed.status_code == 401
    assert client.get("/api/v1/me", headers=colleague.headers).status_code == 200


# --- README claims -------------------------------------------------------------------------------------


def test_code_requests_per_address_are_limited_to_ten(client: httpx.Client, verify: FakeVerify) -> None:
    # given one caller address asking codes for eleven different numbers (under each number's own limit)
    ip = client_ip()
    answers = [
        client.post("/api/v1/auth/otp/start", headers=ip, json={"phone": unique_phone()}).status_code for _ in range(11)
    ]
    # then the eleventh is refused, and another address is not
    assert answers == [202] * 10 + [429]
    assert client.post("/api/v1/auth/otp/start", headers=client_ip(), json={"phone": unique_phone()}).status_code == 202


def test_a_failed_sign_in_of_a_known_account_is_audited_with_the_401(client: httpx.Client) -> None:
    owner = register(client)
    ip = client_ip()
    wrong = client.post("/api/v1/auth/login", headers=ip, json={"email": owner.email, "password": "not it at all"})
    assert wrong.status_code == 401
    # the failure's audit row was committed with the 401 (not rolled back with an error)
    rows = client.get("/api/v1/audit", headers=owner.headers).json()["items"]
    failed = [r for r in rows if r["action"] == "auth.sign_in_failed"]
    assert len(failed) == 1 and failed[0]["entity_id"] == owner.user_id
    assert failed[0]["ip"] == ip["X-Forwarded-For"].rsplit(", ", 1)[1]


def test_a_role_change_and_a_disable_apply_at_once_to_an_issued_access_token(client: httpx.Client) -> None:
    owner = register(client)
    advisor = login(client, email=invite(client, owner, role="advisor")["email"])
    # given the advisor's access token creates customers
    create = {"name": "Before the change"}
    assert client.post("/api/v1/crm/customers", headers=advisor.headers, json=create).status_code == 201
    # when the owner makes them a tech, the same token may no longer create customers
    changed = client.patch(
        f"/api/v1/users/{advisor.user_id}", headers={**owner.headers, "If-Match": "*"}, json={"role": "tech"}
    )
    assert changed.status_code == 200, changed.text
    assert client.post("/api/v1/crm/customers", headers=advisor.headers, json=create).status_code == 403
    assert client.get("/api/v1/me", headers=advisor.headers).json()["user"]["role"] == "tech"
    # when the owner disables them, the same token is refused outright
    disabled = client.patch(
        f"/api/v1/users/{advisor.user_id}", headers={**owner.headers, "If-Match": "*"}, json={"disabled": True}
    )
    assert disabled.status_code == 200, disabled.text
    assert client.get("/api/v1/me", headers=advisor.headers).status_code == 401


def test_sign_in_routes_ignore_idempotency_key(client: httpx.Client) -> None:
    owner = register(client)
    key = {"Idempotency-Key": "same-key-twice"}
    body = {"email": owner.email, "password": "correct horse battery staple"}
    first = client.post("/api/v1/auth/login", headers={**client_ip(), **key}, json=body)
    second = client.post("/api/v1/auth/login", headers={**client_ip(), **key}, json=body)
    assert first.status_code == second.status_code == 200
    # two sign-ins, two sessions: nothing stored or replayed under the key
    assert "Idempotent-Replayed" not in second.headers
    assert first.json()["refresh_token"] != second.json()["refresh_token"]
