"""The authorisation matrix: every HTTP route the app registers, called as every role and against another
tenant's objects, over HTTP through the dev host. A route missing from EXPECTED fails the test, so each new
route must state who may call it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from blueprints.identity.permissions import ROLES
from tests.app_index import http_routes
from tests.builders import PASSWORD, Account, client_ip, invite, login, register, unique_email, unique_phone
from tests.conftest import RunningHost

OWN, OTHER = "own", "other"


@dataclass
class Call:
    """One request: path under /api/, JSON body, extra headers, and whether to send the role's token."""

    path: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    signed_in: bool = True
    content: str | None = None  # a raw body (forms) instead of JSON


@dataclass
class World:
    """Two businesses: ours with one account per role, and another with a customer and a vehicle."""

    client: httpx.Client
    accounts: dict[str, Account]
    other_owner: Account
    ids: dict[str, str]

    def customer(self, target: str) -> str:
        """A customer owned by the owner of the target business (a fresh one: calls may delete it)."""
        account = self.accounts["owner"] if target == OWN else self.other_owner
        body = {"name": f"Customer {uuid.uuid4().hex[:6]}", "phone": unique_phone()}
        response = self.client.post("/api/v1/crm/customers", headers=account.headers, json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def vehicle(self, target: str) -> str:
        """A vehicle of a fresh customer of the target business."""
        account = self.accounts["owner"] if target == OWN else self.other_owner
        response = self.client.post(
            f"/api/v1/crm/customers/{self.customer(target)}/vehicles",
            headers=account.headers,
            json={"year": 2018, "make": "Ford"},
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def user(self, target: str) -> str:
        """A fresh tech of the target business."""
        account = self.accounts["owner"] if target == OWN else self.other_owner
        return invite(self.client, account, role="tech")["id"]

    def peer(self, target: str) -> str:
        """A user to share with: our estimator, or the other business's owner."""
        return self.accounts["estimator"].user_id if target == OWN else self.other_owner.user_id


ANYONE = {role: None for role in ROLES}


def allow(statuses: dict[str, int], ok: int, *, hidden: set[str] = frozenset(), default: int = 403) -> dict[str, int]:
    """ok for the listed roles, 404 for roles the record is hidden from, default for the rest."""
    return {role: ok if role in statuses else 404 if role in hidden else default for role in ROLES}


def roles(*names: str) -> dict[str, int]:
    """A set of roles (as dict keys, for allow())."""
    return dict.fromkeys(names, 0)


MANAGERS = roles("owner", "admin")
EDITORS = roles("owner", "admin", "advisor")
READ_ALL = roles("owner", "admin", "advisor", "tech", "accountant")
EVERYONE = roles(*ROLES)
CREATORS = roles("owner", "admin", "advisor", "estimator")
PAINTERS = roles("owner", "admin", "estimator")


@dataclass
class Case:
    """How to call one route and what each role gets; `other` is whether it takes another tenant's ids."""

    call: Callable[[World, str, str], Call]
    expect: dict[str, int]
    other: bool = False


def _fresh_login(w: World, role: str) -> Account:
    return login(w.client, email=w.accounts[role].email or "")


# --- configurator helpers (configurator engineer's block) ---------------------------------------------
_CFG_SCHEMA = {
    "type": "object",
    "properties": {"width": {"type": "number", "minimum": 300, "maximum": 1200}},
    "required": ["width"],
    "additionalProperties": False,
}


def _cfg_owner(w: World, target: str) -> Account:
    return w.accounts["owner"] if target == OWN else w.other_owner


def _cfg_product(w: World, target: str) -> str:
    """One product per business, made on first use."""
    key = f"configurator-product-{target}"
    if key not in w.ids:
        response = w.client.post(
            "/api/v1/configurator/products",
            headers=_cfg_owner(w, target).headers,
            json={
                "name": f"Matrix cabinet {uuid.uuid4().hex[:6]}",
                "config_schema": _CFG_SCHEMA,
                "template_blob_path": "products/matrix/1.0.0.blend",
                "template_version": "1.0.0",
            },
        )
        assert response.status_code == 201, response.text
        w.ids[key] = response.json()["id"]
    return w.ids[key]


def _cfg_configuration(w: World, target: str) -> dict[str, Any]:
    """A fresh configuration of the target business (calls may delete it)."""
    body = {"product_id": _cfg_product(w, target), "name": "Matrix", "config_data": {"width": 600}}
    response = w.client.post("/api/v1/configurator/configurations", headers=_cfg_owner(w, target).headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _cfg_job(w: World, target: str) -> str:
    """A fresh render job of the target business (nobody renders it here; it stays queued)."""
    response = w.client.post(
        "/api/v1/configurator/jobs",
        headers=_cfg_owner(w, target).headers,
        json={"configuration_id": _cfg_configuration(w, target)["id"]},
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


# --- end of configurator helpers ---------------------------------------------------------------------------


# --- messaging helpers (messaging engineer's block) -----------------------------------------------------
def _msg_owner(w: World, target: str) -> Account:
    return w.accounts["owner"] if target == OWN else w.other_owner


def _msg_message(w: World, target: str) -> str:
    """A fresh queued text to a fresh customer of the target business (no consent: the pipeline blocks it)."""
    response = w.client.post(
        "/api/v1/messages",
        headers=_msg_owner(w, target).headers,
        json={"customer_id": w.customer(target), "channel": "sms", "body": "Matrix"},
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _msg_template(w: World, target: str) -> str:
    """A fresh template of the target business (calls may delete it)."""
    response = w.client.post(
        "/api/v1/messaging/templates",
        headers=_msg_owner(w, target).headers,
        json={"name": f"Matrix {uuid.uuid4().hex[:8]}", "channel": "sms", "body": "Hi {first_name}"},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _msg_template_body() -> dict[str, Any]:
    return {"name": f"Ready {uuid.uuid4().hex[:8]}", "channel": "sms", "body": "{first_name}, your car is ready"}


# --- end of messaging helpers ------------------------------------------------------------------------------


# --- shop helpers (shop engineer's block) ------------------------------------------------------------------
SHOP_DAY = "from=2026-11-02T00:00:00Z&to=2026-11-03T00:00:00Z"


def _shop_owner(w: World, target: str) -> Account:
    return w.accounts["owner"] if target == OWN else w.other_owner


def _shop_post(w: World, target: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = w.client.post(f"/api/{path}", headers=_shop_owner(w, target).headers, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _shop_appointment(w: World, target: str) -> str:
    """A fresh appointment (no technician, so bookings never clash) of a fresh customer of the target business."""
    n = uuid.uuid4().int
    start = f"2027-{1 + n % 12:02d}-{1 + n // 12 % 28:02d}T{8 + n // 336 % 9:02d}:00:00Z"
    return _shop_post(
        w,
        target,
        "v1/shop/appointments",
        {"customer_id": w.customer(target), "starts_at": start, "ends_at": start.replace(":00:00Z", ":45:00Z")},
    )["id"]


def _shop_service(w: World, target: str) -> tuple[str, str]:
    appointment = _shop_appointment(w, target)
    body = {"name": "Oil change", "price_cents": 5000}
    return appointment, _shop_post(w, target, f"v1/shop/appointments/{appointment}/services", body)["id"]


def _shop_payment(w: World, target: str) -> str:
    body = {"amount_cents": 1000, "method": "cash", "allow_overpayment": True}
    return _shop_post(w, target, f"v1/shop/appointments/{_shop_appointment(w, target)}/payments", body)["payment"]["id"]


def _shop_checklist(w: World, target: str) -> dict[str, Any]:
    body = {"title": "Safety", "labels": ["Brakes", "Tyres"]}
    return _shop_post(w, target, f"v1/shop/appointments/{_shop_appointment(w, target)}/inspections", body)


def _shop_token(w: World) -> str:
    checklist = _shop_checklist(w, OWN)["id"]
    url = _shop_post(w, OWN, f"v1/shop/inspections/{checklist}/link", {"ttl_hours": 24})["url"]
    return url.rsplit("/", 1)[1]


# --- end of shop helpers -----------------------------------------------------------------------------------


# --- estimates helpers (estimates engineer's block) ----------------------------------------------------------
def _est_owner(w: World, target: str) -> Account:
    return w.accounts["owner"] if target == OWN else w.other_owner


def _est_post(w: World, account: Account, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = w.client.post(f"/api/{path}", headers=account.headers, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _est_product(w: World, target: str) -> str:
    """A paint in the target business's rate book, saved once."""
    key = f"estimates-product-{target}"
    if key not in w.ids:
        book = {"products": [{"name": "Eggshell", "coverage_sqft_per_gallon": "350", "price_per_gallon_cents": 4500}]}
        response = w.client.put("/api/v1/estimates/rate-book", headers=_est_owner(w, target).headers, json=book)
        assert response.status_code == 200, response.text
        w.ids[key] = response.json()["products"][0]["id"]
    return w.ids[key]


def _est_room_body(w: World, target: str) -> dict[str, Any]:
    surface = {"kind": "walls", "product_id": _est_product(w, target), "coats": 2}
    return {"name": "Den", "length_ft": "12", "width_ft": "14", "height_ft": "8", "surfaces": [surface]}


def _est_customer(w: World, role: str) -> str:
    """A fresh customer the role may see: its own when the role creates customers, else the owner's."""
    account = w.accounts[role] if role in CREATORS else w.accounts["owner"]
    return _est_post(w, account, "v1/crm/customers", {"name": "Paint customer", "phone": unique_phone()})["id"]


def _est_estimate(w: World, target: str) -> dict[str, Any]:
    """A fresh estimate of the target business's owner (hidden from our estimator), two options and a room."""
    account = _est_owner(w, target)
    body = {"customer_id": w.customer(target), "title": "Matrix", "options": [{"name": "Good"}, {"name": "Best"}]}
    estimate = _est_post(w, account, "v1/estimates", body)
    return _est_post(w, account, f"v1/estimates/{estimate['id']}/rooms", _est_room_body(w, target))


def _est_addon(w: World, target: str) -> tuple[str, str]:
    estimate = _est_estimate(w, target)
    out = _est_post(
        w, _est_owner(w, target), f"v1/estimates/{estimate['id']}/addons", {"name": "Deck", "price_cents": 1}
    )
    return estimate["id"], out["addons"][0]["id"]


def _est_sent(w: World, target: str) -> tuple[str, str]:
    """A fresh sent estimate of the target business: its id and the customer's link."""
    estimate = _est_estimate(w, target)
    sent = _est_post(w, _est_owner(w, target), f"v1/estimates/{estimate['id']}/send", {"channel": "sms"})
    return estimate["id"], sent["url"].split("/api/", 1)[1]


def _est_document(w: World) -> str:
    estimate_id, _ = _est_sent(w, OWN)
    response = w.client.get(f"/api/v1/estimates/{estimate_id}/pdf", headers=w.accounts["owner"].headers)
    assert response.status_code == 200, response.text
    return response.json()["url"].split("/api/", 1)[1]


def _est_jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (220, 216, 208)).save(out, "JPEG")
    return out.getvalue()


def _est_upload(w: World, target: str) -> tuple[str, str]:
    """A fresh estimate of the target business with a photo uploaded by its SAS URL, not committed yet."""
    estimate = _est_estimate(w, target)
    data = _est_jpeg()
    body = {"content_type": "image/jpeg", "bytes": len(data)}
    ticket = _est_post(w, _est_owner(w, target), f"v1/estimates/{estimate['id']}/photos/uploads", body)
    put = httpx.put(ticket["upload_url"], content=data, headers=ticket["upload_headers"], timeout=30)
    assert put.status_code == 201, put.text
    return estimate["id"], ticket["photo"]["id"]


def _est_photo(w: World, target: str, *, fresh: bool = False) -> tuple[str, str]:
    """An estimate of the target business with a committed photo (made once unless fresh: calls may delete it)."""
    key = f"estimates-photo-{target}"
    if fresh or key not in w.ids:
        estimate_id, photo_id = _est_upload(w, target)
        _est_post(w, _est_owner(w, target), f"v1/estimates/{estimate_id}/photos/{photo_id}/commit", {})
        if fresh:
            return estimate_id, photo_id
        w.ids[key] = f"{estimate_id}/photos/{photo_id}"
    estimate_id, _, photo_id = w.ids[key].split("/")
    return estimate_id, photo_id


_EST_COLOUR = {"colour": {"name": "Naval", "hex": "#2f3d4c"}, "surfaces": ["walls"]}


def _est_photo_path(w: World, target: str, *, fresh: bool = False) -> str:
    estimate_id, photo_id = _est_photo(w, target, fresh=fresh)
    return f"v1/estimates/{estimate_id}/photos/{photo_id}"


def _est_preview_path(w: World, target: str) -> str:
    """The target business's preview of its photo (the same colour: asked once, answered again)."""
    path = _est_photo_path(w, target)
    response = w.client.post(f"/api/{path}/previews", headers=_est_owner(w, target).headers, json=_EST_COLOUR)
    assert response.status_code == 202, response.text
    return f"{path}/previews/{response.json()['id']}"


# --- end of estimates helpers ------------------------------------------------------------------------------
# --- voice estimates helpers (voice engineer's block) --------------------------------------------------------
def _voice_estimate(w: World, target: str) -> str:
    """One estimate of the target business's owner (hidden from our estimator), made on first use."""
    key = f"voice-estimate-{target}"
    if key not in w.ids:
        w.ids[key] = _est_estimate(w, target)["id"]
    return w.ids[key]


def _voice_draft(w: World, target: str) -> tuple[str, str]:
    """A fresh draft room the voice agent's tool made in that estimate (calls may confirm or reject it)."""
    estimate = {"id": _voice_estimate(w, target)}
    voice = _est_post(w, _est_owner(w, target), f"v1/estimates/{estimate['id']}/voice-sessions", {})
    call = {"session_id": voice["id"], "conversation_id": f"conv_{uuid.uuid4().hex[:12]}", "name": "Den",
            "quote": "den twelve by fourteen"}  # fmt: skip
    headers = {"X-Tradeops-Tool-Secret": os.environ["ELEVENLABS_TOOL_SECRET"]}
    response = w.client.post("/api/webhooks/elevenlabs/tools/add_room", json=call, headers=headers)
    assert response.status_code == 200, response.text
    return estimate["id"], response.json()["draft_id"]


# --- end of voice estimates helpers --------------------------------------------------------------------------
# --- bids helpers (bids engineer's block) -----------------------------------------------------------------
BIDS_READ = roles("owner", "admin", "estimator", "advisor", "accountant")
BIDS_WRITE = roles("owner", "admin", "estimator", "advisor")
BIDS_REVIEW = roles("owner", "admin", "estimator")


def _bids_owner(w: World, target: str) -> Account:
    return w.accounts["owner"] if target == OWN else w.other_owner


def _bids_customer(w: World, role: str) -> str:
    """A customer the role can see: its own when it may add customers (an estimator sees only its own)."""
    account = w.accounts[role] if role in BIDS_WRITE else w.accounts["owner"]
    response = w.client.post(
        "/api/v1/crm/customers", headers=account.headers, json={"name": "Bids customer", "phone": unique_phone()}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _bids_project(w: World, target: str) -> str:
    """One project per business, made on first use."""
    key = f"bids-project-{target}"
    if key not in w.ids:
        body = {"customer_id": w.customer(target), "name": "Matrix clinic", "address": "1 Main St"}
        response = w.client.post("/api/v1/bids/projects", headers=_bids_owner(w, target).headers, json=body)
        assert response.status_code == 201, response.text
        w.ids[key] = response.json()["id"]
    return w.ids[key]


def _bids_upload(w: World, target: str) -> dict[str, Any]:
    """A fresh document awaiting its upload."""
    response = w.client.post(
        f"/api/v1/bids/projects/{_bids_project(w, target)}/documents",
        headers=_bids_owner(w, target).headers,
        json={"filename": "plans.pdf"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def _bids_document(w: World, target: str) -> str:
    """One analysed document per business (a generated 3-sheet set), its pending fixtures confirmed."""
    import time

    from tests.plansets.generator import make_plan_set

    key = f"bids-document-{target}"
    if key in w.ids:
        return w.ids[key]
    headers = _bids_owner(w, target).headers
    ticket = _bids_upload(w, target)
    put = httpx.put(
        ticket["upload_url"], content=make_plan_set(plan_sheets=1, seed=4).pdf, headers=ticket["upload_headers"]
    )
    assert put.status_code == 201, put.text
    document_id = ticket["document"]["id"]
    assert w.client.post(f"/api/v1/bids/documents/{document_id}/commit", headers=headers, json={}).status_code == 202
    for _ in range(600):
        status = w.client.get(f"/api/v1/bids/documents/{document_id}", headers=headers).json()["status"]
        if status != "queued" and status != "analyzing":
            break
        time.sleep(0.1)
    assert status == "analyzed", status
    pending = w.client.get(f"/api/v1/bids/documents/{document_id}/fixtures?state=pending", headers=headers).json()
    ids = [f["id"] for f in pending["items"]]
    if ids:
        confirm = {"fixture_ids": ids}
        assert (
            w.client.post(
                f"/api/v1/bids/documents/{document_id}/fixtures/confirm", headers=headers, json=confirm
            ).status_code
            == 200
        )
    w.ids[key] = document_id
    return document_id


def _bids_fixture(w: World, target: str) -> tuple[str, str]:
    document_id = _bids_document(w, target)
    listed = w.client.get(
        f"/api/v1/bids/documents/{document_id}/fixtures?limit=1", headers=_bids_owner(w, target).headers
    )
    return document_id, listed.json()["items"][0]["id"]


_BIDS_BOX = {"x0": 10, "top": 10, "x1": 30, "bottom": 30}
# --- end of bids helpers -----------------------------------------------------------------------------------
# --- bids pricing helpers (bids pricing engineer's block) --------------------------------------------------
BIDS_SEND = roles("owner", "admin", "estimator")
_BP_POOLS: dict[tuple[int, str], list[str]] = {}  # sent bids waiting for a customer's answer, per world and business


def _bp_bid(w: World, target: str) -> str:
    """A fresh draft bid, by hand, on the target business's project."""
    content = {"title": "Matrix bid", "lines": [{"fixture_type": "lavatory", "quantity": "2"}]}
    response = w.client.post(
        "/api/v1/bids",
        headers=_bids_owner(w, target).headers,
        json={"project_id": _bids_project(w, target), "content": content},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _bp_send_all(w: World, target: str, count: int) -> list[str]:
    """count fresh bids of the target business, sent at once and waited for together (the orchestrations overlap)."""
    import time

    headers = _bids_owner(w, target).headers
    bids = [_bp_bid(w, target) for _ in range(count)]
    for bid_id in bids:
        response = w.client.post(f"/api/v1/bids/{bid_id}/send", headers=headers, json={})
        assert response.status_code == 202, response.text
    waiting = set(bids)
    for _ in range(1200):
        waiting = {b for b in waiting if w.client.get(f"/api/v1/bids/{b}", headers=headers).json()["status"] != "sent"}
        if not waiting:
            return bids
        time.sleep(0.1)
    raise AssertionError(f"{len(waiting)} bids were never sent")


def _bp_sent(w: World, target: str, *, fresh: bool = False) -> str:
    """A bid of the target business the generation orchestration has sent: one kept per business, or a fresh one
    from a pool sent together (one per role: each customer answer uses one up)."""
    if fresh:
        pool = _BP_POOLS.setdefault((id(w), target), [])
        if not pool:
            pool.extend(_bp_send_all(w, target, len(ROLES)))
        return pool.pop()
    key = f"bids-sent-{target}"
    if key not in w.ids:
        w.ids[key] = _bp_send_all(w, target, 1)[0]
    return w.ids[key]


def _bp_document(w: World, bid_id: str) -> str:
    response = w.client.get(f"/api/v1/bids/{bid_id}/pdf", headers=w.accounts["owner"].headers)
    assert response.status_code == 200, response.text
    return response.json()["url"].split("/api/", 1)[1]


def _bp_page(w: World, *, fresh: bool = False) -> str:
    """The customer's page of one of our sent bids (signed here, as the email's link is)."""
    from datetime import timedelta

    from shared import signed_links

    token = _bp_document(w, _bp_sent(w, OWN, fresh=fresh)).rsplit("/", 1)[1]
    claims = signed_links.verify(token, purpose="bid-document", id_count=2)
    page, _ = signed_links.sign(purpose="bid", tenant_id=claims.tenant_id, ids=claims.ids, ttl=timedelta(days=1))
    return f"v1/bid-proposals/{page}"


# --- end of bids pricing helpers ---------------------------------------------------------------------------
# --- pricebook helpers (pricebook engineer's block) -----------------------------------------------------
PB_EDITORS = roles("owner", "admin", "estimator")
PB_KINDS = ("materials", "services", "equipment")


def _pb_tenant(w: World, target: str) -> uuid.UUID:
    return uuid.UUID((w.accounts["owner"] if target == OWN else w.other_owner).tenant_id)


def _pb_db(w: World, target: str, build: Callable[..., Any], **kwargs: Any) -> Any:
    """Rows as a pull would leave them (the matrix host has no ServiceTitan to pull from)."""
    from shared.db import session_scope

    tenant_id = _pb_tenant(w, target)
    with session_scope(tenant_id=tenant_id) as session:
        return build(session, tenant_id=tenant_id, **kwargs)


def _pb_item(w: World, target: str, kind: str = "materials", **fields: Any) -> int:
    from tests.builders import create_pricebook_item

    return _pb_db(w, target, create_pricebook_item, kind=kind, **fields)


def _pb_conflict(w: World, target: str) -> str:
    from tests.builders import create_pricebook_conflict

    return str(_pb_db(w, target, create_pricebook_conflict, st_id=_pb_item(w, target)))


def _pb_run(w: World, target: str) -> str:
    from tests.builders import create_pricebook_run

    return str(_pb_db(w, target, create_pricebook_run))


def _pb_kind_rows() -> dict[tuple[str, str], Case]:
    rows: dict[tuple[str, str], Case] = {}
    for kind in PB_KINDS:
        rows[("GET", f"/v1/pricebook/{kind}")] = Case(
            lambda w, r, t, k=kind: Call(f"v1/pricebook/{k}"), allow(EVERYONE, 200)
        )
        rows[("GET", f"/v1/pricebook/{kind}/{{st_id}}")] = Case(
            lambda w, r, t, k=kind: Call(f"v1/pricebook/{k}/{_pb_item(w, t, k)}"), allow(EVERYONE, 200), other=True
        )
        rows[("PATCH", f"/v1/pricebook/{kind}/{{st_id}}")] = Case(
            lambda w, r, t, k=kind: Call(
                f"v1/pricebook/{k}/{_pb_item(w, t, k)}", json={"price_cents": 3_000}, headers={"If-Match": "*"}
            ),
            allow(PB_EDITORS, 200),
            other=True,
        )
        rows[("POST", f"/v1/pricebook/{kind}")] = Case(
            lambda w, r, t, k=kind: Call(f"v1/pricebook/{k}", json={"code": "NEW-1", "price_cents": 1_000}),
            allow(PB_EDITORS, 201),
        )
    return rows


# --- end of pricebook helpers ------------------------------------------------------------------------------
# --- leads helpers (leads engineer's block) ----------------------------------------------------------------
_LEADS_ORIGIN = "https://www.matrix-plumbing.example.com"


def _leads_slug(w: World, target: str) -> str:
    """The target business's intake slug, its lead settings saved on first use."""
    key = f"leads-slug-{target}"
    if key not in w.ids:
        slug = f"matrix-{target}-{uuid.uuid4().hex[:8]}"
        owner = w.accounts["owner"] if target == OWN else w.other_owner
        response = w.client.put(
            "/api/v1/leads/settings", headers=owner.headers, json={"slug": slug, "site_origins": [_LEADS_ORIGIN]}
        )
        assert response.status_code == 200, response.text
        w.ids[key] = slug
    return w.ids[key]


def _leads_settings(w: World) -> dict[str, Any]:
    return {"slug": _leads_slug(w, OWN), "site_origins": [_LEADS_ORIGIN]}


def _leads_form() -> dict[str, Any]:
    return {"name": "Matrix Lead", "phone": unique_phone(), "message": "Leaking tap"}


def _leads_lead(w: World, target: str) -> str:
    """A lead of the target business (posted through its form once)."""
    key = f"leads-lead-{target}"
    if key not in w.ids:
        slug = _leads_slug(w, target)
        posted = w.client.post(f"/api/v1/leads/intake/{slug}", json=_leads_form(), headers=client_ip())
        assert posted.status_code == 202, posted.text
        owner = w.accounts["owner"] if target == OWN else w.other_owner
        listed = w.client.get("/api/v1/leads", headers=owner.headers)
        assert listed.status_code == 200, listed.text
        w.ids[key] = listed.json()["items"][0]["id"]
    return w.ids[key]


LEADS_STAFF = roles("owner", "admin", "estimator", "advisor")
# --- end of leads helpers ----------------------------------------------------------------------------------


def _invitee(w: World, target: str) -> str:
    """A fresh person of the target business invited by email, who has not chosen a password yet."""
    account = w.accounts["owner"] if target == OWN else w.other_owner
    return invite(w.client, account, role="tech", password=None)["id"]


def _invitation_token(w: World) -> str:
    """The link token of a fresh invitation in our business (computed as the emailer would)."""
    from sqlalchemy import select

    from blueprints.identity import password_links
    from blueprints.identity.models import PasswordLink
    from shared.db import session_scope

    user_id = _invitee(w, OWN)
    with session_scope(tenant_id=w.accounts["owner"].tenant_id) as session:
        invitation_id = session.scalars(select(PasswordLink.id).where(PasswordLink.user_id == uuid.UUID(user_id))).one()
    return password_links.token_for(invitation_id)


def _throwaway(w: World, role: str) -> Account:
    """A fresh person of our business with this role, signed in (calls may change their password)."""
    return login(w.client, email=invite(w.client, w.accounts["owner"], role=role)["email"])


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_NEW_PASSWORD = "password=a+new+password+42&password_confirm=a+new+password+42"


# fmt: off
EXPECTED: dict[tuple[str, str], Case] = {
    # --- ops: anonymous probes and a portal-key operation that no user token opens
    ("GET", "/health"): Case(lambda w, r, t: Call("health", signed_in=False), allow(EVERYONE, 200)),
    ("GET", "/ready"): Case(lambda w, r, t: Call("ready", signed_in=False), allow(EVERYONE, 200)),
    ("GET", "/openapi.json"): Case(lambda w, r, t: Call("openapi.json", signed_in=False), allow(EVERYONE, 200)),
    ("POST", "/v1/ops/outbox/sweep"): Case(lambda w, r, t: Call("v1/ops/outbox/sweep"), allow({}, 0, default=401)),
    # --- identity: sign-up and sign-in are open to anyone
    ("POST", "/v1/auth/register"): Case(lambda w, r, t: Call("v1/auth/register", signed_in=False, headers=client_ip(),
        json={"tenant_name": "Matrix Co", "name": "M", "email": unique_email(), "password": "long enough pw",
              "timezone": "UTC"}), allow(EVERYONE, 201)),
    ("POST", "/v1/auth/login"): Case(lambda w, r, t: Call("v1/auth/login", signed_in=False, headers=client_ip(),
        json={"email": w.accounts[r].email, "password": "correct horse battery staple"}), allow(EVERYONE, 200)),
    ("POST", "/v1/auth/otp/start"): Case(lambda w, r, t: Call("v1/auth/otp/start", signed_in=False,
        headers=client_ip(), json={"phone": unique_phone()}), allow(EVERYONE, 202)),
    ("POST", "/v1/auth/otp/verify"): Case(lambda w, r, t: Call("v1/auth/otp/verify", signed_in=False,
        headers=client_ip(), json={"phone": unique_phone(), "code": "123456"}), allow({}, 0, default=401)),
    ("POST", "/v1/auth/refresh"): Case(lambda w, r, t: Call("v1/auth/refresh", signed_in=False,
        json={"refresh_token": _fresh_login(w, r).refresh_token}), allow(EVERYONE, 200)),
    ("POST", "/v1/auth/logout"): Case(lambda w, r, t: Call("v1/auth/logout", signed_in=False,
        headers=_fresh_login(w, r).headers), allow(EVERYONE, 204)),
    ("GET", "/v1/me"): Case(lambda w, r, t: Call("v1/me"), allow(EVERYONE, 200)),
    ("POST", "/v1/auth/logout-all"): Case(lambda w, r, t: Call("v1/auth/logout-all", signed_in=False,
        headers=_throwaway(w, r).headers), allow(EVERYONE, 204)),
    ("POST", "/v1/me/password"): Case(lambda w, r, t: Call("v1/me/password", signed_in=False,
        headers=_throwaway(w, r).headers, json={"current_password": PASSWORD, "new_password": "a new password 42"}),
        allow(EVERYONE, 204)),
    # --- identity: the business and its people
    ("GET", "/v1/tenant"): Case(lambda w, r, t: Call("v1/tenant"), allow(EVERYONE, 200)),
    ("PATCH", "/v1/tenant"): Case(lambda w, r, t: Call("v1/tenant", json={"brand_colour": "#1f6feb"},
        headers={"If-Match": "*"}), allow(MANAGERS, 200)),
    ("GET", "/v1/users"): Case(lambda w, r, t: Call("v1/users"), allow(MANAGERS, 200)),
    ("POST", "/v1/users"): Case(lambda w, r, t: Call("v1/users", json={"name": "New", "role": "tech",
        "email": unique_email()}), allow(MANAGERS, 201)),
    ("POST", "/v1/users/{user_id}/invitation"): Case(lambda w, r, t: Call(f"v1/users/{_invitee(w, t)}/invitation"),
        allow(MANAGERS, 201), other=True),
    ("POST", "/v1/auth/password-link-acceptances"): Case(lambda w, r, t: Call("v1/auth/password-link-acceptances",
        signed_in=False, json={"token": _invitation_token(w), "password": "a new password 42"}),
        allow(EVERYONE, 200)),
    ("GET", "/v1/auth/password-links/{token}"): Case(lambda w, r, t: Call(
        f"v1/auth/password-links/{_invitation_token(w)}", signed_in=False), allow(EVERYONE, 200)),
    ("POST", "/v1/auth/password-links/{token}"): Case(lambda w, r, t: Call(
        f"v1/auth/password-links/{_invitation_token(w)}", signed_in=False, headers=_FORM, content=_NEW_PASSWORD),
        allow(EVERYONE, 200)),
    ("POST", "/v1/auth/password-resets"): Case(lambda w, r, t: Call("v1/auth/password-resets", signed_in=False,
        headers=client_ip(), json={"email": w.accounts[r].email}), allow(EVERYONE, 202)),
    ("GET", "/v1/users/{user_id}"): Case(lambda w, r, t: Call(f"v1/users/{w.user(t)}"), allow(MANAGERS, 200),
        other=True),
    ("PATCH", "/v1/users/{user_id}"): Case(lambda w, r, t: Call(f"v1/users/{w.user(t)}", json={"role": "advisor"},
        headers={"If-Match": "*"}), allow(MANAGERS, 200), other=True),
    ("GET", "/v1/audit"): Case(lambda w, r, t: Call("v1/audit?entity=user"), allow(MANAGERS, 200)),
    # --- crm: the owner's customers are hidden from estimators (404), read-only for techs and accountants
    ("GET", "/v1/crm/customers"): Case(lambda w, r, t: Call("v1/crm/customers?q=Customer"), allow(EVERYONE, 200)),
    ("POST", "/v1/crm/customers"): Case(lambda w, r, t: Call("v1/crm/customers", json={"name": "Zed",
        "email": "zed@example.com"}), allow(CREATORS, 201)),
    ("GET", "/v1/crm/customers/{customer_id}"): Case(lambda w, r, t: Call(f"v1/crm/customers/{w.customer(t)}"),
        allow(READ_ALL, 200, hidden={"estimator"}), other=True),
    ("PATCH", "/v1/crm/customers/{customer_id}"): Case(lambda w, r, t: Call(f"v1/crm/customers/{w.customer(t)}",
        json={"notes": "Prefers texts"}, headers={"If-Match": "*"}), allow(EDITORS, 200, hidden={"estimator"}),
        other=True),
    ("DELETE", "/v1/crm/customers/{customer_id}"): Case(lambda w, r, t: Call(f"v1/crm/customers/{w.customer(t)}"),
        allow(EDITORS, 204), other=True),
    ("POST", "/v1/crm/customers/{customer_id}/shares"): Case(lambda w, r, t: Call(
        f"v1/crm/customers/{w.customer(t)}/shares", json={"user_id": w.peer(t)}),
        allow(EDITORS, 200, hidden={"estimator"}), other=True),
    ("DELETE", "/v1/crm/customers/{customer_id}/shares/{user_id}"): Case(lambda w, r, t: Call(
        f"v1/crm/customers/{w.customer(t)}/shares/{w.peer(t)}"), allow(EDITORS, 204, hidden={"estimator"}),
        other=True),
    ("GET", "/v1/crm/customers/{customer_id}/vehicles"): Case(lambda w, r, t: Call(
        f"v1/crm/customers/{w.customer(t)}/vehicles"), allow(READ_ALL, 200, hidden={"estimator"}), other=True),
    ("POST", "/v1/crm/customers/{customer_id}/vehicles"): Case(lambda w, r, t: Call(
        f"v1/crm/customers/{w.customer(t)}/vehicles", json={"vin": "1M8GDM9AXKP042788", "mileage": 1000}),
        allow(EDITORS, 201, hidden={"estimator"}), other=True),
    ("GET", "/v1/crm/vehicles/{vehicle_id}"): Case(lambda w, r, t: Call(f"v1/crm/vehicles/{w.vehicle(t)}"),
        allow(READ_ALL, 200, hidden={"estimator"}), other=True),
    ("PATCH", "/v1/crm/vehicles/{vehicle_id}"): Case(lambda w, r, t: Call(f"v1/crm/vehicles/{w.vehicle(t)}",
        json={"mileage": 50_000}, headers={"If-Match": "*"}), allow(EDITORS, 200, hidden={"estimator"}),
        other=True),
    ("DELETE", "/v1/crm/vehicles/{vehicle_id}"): Case(lambda w, r, t: Call(f"v1/crm/vehicles/{w.vehicle(t)}"),
        allow(EDITORS, 204, hidden={"estimator"}), other=True),
    # --- configurator (configurator engineer's block): everyone reads; managers edit products; creators
    #     save configurations and start or cancel renders; a share code opens a read-only view to anyone
    ("GET", "/v1/configurator/products"): Case(lambda w, r, t: Call("v1/configurator/products"),
        allow(EVERYONE, 200)),
    ("POST", "/v1/configurator/products"): Case(lambda w, r, t: Call("v1/configurator/products", json={
        "name": f"Hood {uuid.uuid4().hex[:8]}", "config_schema": _CFG_SCHEMA,
        "template_blob_path": "products/hood/1.0.0.blend", "template_version": "1.0.0"}), allow(MANAGERS, 201)),
    ("GET", "/v1/configurator/products/{product_id}"): Case(lambda w, r, t: Call(
        f"v1/configurator/products/{_cfg_product(w, t)}"), allow(EVERYONE, 200), other=True),
    ("PATCH", "/v1/configurator/products/{product_id}"): Case(lambda w, r, t: Call(
        f"v1/configurator/products/{_cfg_product(w, t)}", json={"description": "Updated"},
        headers={"If-Match": "*"}), allow(MANAGERS, 200), other=True),
    ("GET", "/v1/configurator/configurations"): Case(lambda w, r, t: Call("v1/configurator/configurations"),
        allow(EVERYONE, 200)),
    ("POST", "/v1/configurator/configurations"): Case(lambda w, r, t: Call("v1/configurator/configurations",
        json={"product_id": _cfg_product(w, OWN), "name": "Mine", "config_data": {"width": 700}}),
        allow(CREATORS, 201)),
    ("GET", "/v1/configurator/configurations/{configuration_id}"): Case(lambda w, r, t: Call(
        f"v1/configurator/configurations/{_cfg_configuration(w, t)['id']}"), allow(EVERYONE, 200), other=True),
    ("DELETE", "/v1/configurator/configurations/{configuration_id}"): Case(lambda w, r, t: Call(
        f"v1/configurator/configurations/{_cfg_configuration(w, t)['id']}"), allow(CREATORS, 204), other=True),
    ("GET", "/v1/configurator/shared/{share_code}"): Case(lambda w, r, t: Call(
        f"v1/configurator/shared/{_cfg_configuration(w, OWN)['share_code']}", signed_in=False),
        allow(EVERYONE, 200)),
    ("POST", "/v1/configurator/jobs"): Case(lambda w, r, t: Call("v1/configurator/jobs",
        json={"configuration_id": _cfg_configuration(w, t)["id"]}), allow(CREATORS, 202), other=True),
    ("GET", "/v1/configurator/jobs/{job_id}"): Case(lambda w, r, t: Call(f"v1/configurator/jobs/{_cfg_job(w, t)}"),
        allow(EVERYONE, 200), other=True),
    ("POST", "/v1/configurator/jobs/{job_id}/cancel"): Case(lambda w, r, t: Call(
        f"v1/configurator/jobs/{_cfg_job(w, t)}/cancel"), allow(CREATORS, 200), other=True),
    # --- end of configurator block
    # --- messaging (messaging engineer's block): everyone reads threads of customers they see (estimators
    #     not the owner's: 404); creators send and record consent; editors keep templates; managers the
    #     sender settings; Twilio's webhooks take no token and refuse anything unsigned (403)
    ("POST", "/v1/messages"): Case(lambda w, r, t: Call("v1/messages", json={"customer_id": w.customer(t),
        "channel": "sms", "body": "Your car is ready"}), allow(EDITORS, 202, hidden={"estimator"}), other=True),
    ("GET", "/v1/messages"): Case(lambda w, r, t: Call(f"v1/messages?customer_id={w.customer(t)}"),
        allow(READ_ALL, 200, hidden={"estimator"}), other=True),
    ("GET", "/v1/messages/{message_id}"): Case(lambda w, r, t: Call(f"v1/messages/{_msg_message(w, t)}"),
        allow(READ_ALL, 200, hidden={"estimator"}), other=True),
    ("GET", "/v1/messaging/templates"): Case(lambda w, r, t: Call("v1/messaging/templates"), allow(EVERYONE, 200)),
    ("POST", "/v1/messaging/templates"): Case(lambda w, r, t: Call("v1/messaging/templates",
        json=_msg_template_body()), allow(EDITORS, 201)),
    ("PUT", "/v1/messaging/templates/{template_id}"): Case(lambda w, r, t: Call(
        f"v1/messaging/templates/{_msg_template(w, t)}", json=_msg_template_body()), allow(EDITORS, 200),
        other=True),
    ("DELETE", "/v1/messaging/templates/{template_id}"): Case(lambda w, r, t: Call(
        f"v1/messaging/templates/{_msg_template(w, t)}"), allow(EDITORS, 204), other=True),
    ("GET", "/v1/messaging/customers/{customer_id}/consents"): Case(lambda w, r, t: Call(
        f"v1/messaging/customers/{w.customer(t)}/consents"), allow(READ_ALL, 200, hidden={"estimator"}),
        other=True),
    ("POST", "/v1/messaging/customers/{customer_id}/consents"): Case(lambda w, r, t: Call(
        f"v1/messaging/customers/{w.customer(t)}/consents", json={"channel": "sms", "purpose": "transactional",
        "granted": True, "source": "front_desk"}), allow(EDITORS, 201, hidden={"estimator"}), other=True),
    ("GET", "/v1/messaging/settings"): Case(lambda w, r, t: Call("v1/messaging/settings"), allow(MANAGERS, 200)),
    ("PUT", "/v1/messaging/settings"): Case(lambda w, r, t: Call("v1/messaging/settings",
        json={"sms_footer": "Reply STOP to opt out."}), allow(MANAGERS, 200)),
    ("POST", "/webhooks/twilio/status"): Case(lambda w, r, t: Call(
        f"webhooks/twilio/status?tenant_id={uuid.uuid4()}&message_id={uuid.uuid4()}", signed_in=False),
        allow({}, 0, default=403)),
    ("POST", "/webhooks/twilio/inbound"): Case(lambda w, r, t: Call("webhooks/twilio/inbound", signed_in=False),
        allow({}, 0, default=403)),
    # --- end of messaging block
    # --- shop (shop engineer's block): staff read; the desk books and edits; the floor moves cards (the
    #     transition table refines which moves); money for owners, admins, advisors and accountants; the
    #     approval page is for the customer's signed link, not a user
    ("GET", "/v1/shop/appointments"): Case(lambda w, r, t: Call(f"v1/shop/appointments?{SHOP_DAY}"),
        allow(READ_ALL, 200)),
    ("POST", "/v1/shop/appointments"): Case(lambda w, r, t: Call("v1/shop/appointments", json={
        "customer_id": w.customer(OWN), "starts_at": "2027-03-01T09:00:00Z", "ends_at": "2027-03-01T10:00:00Z"}),
        allow(EDITORS, 201)),
    ("GET", "/v1/shop/appointments/{appointment_id}"): Case(lambda w, r, t: Call(
        f"v1/shop/appointments/{_shop_appointment(w, t)}"), allow(READ_ALL, 200), other=True),
    ("PATCH", "/v1/shop/appointments/{appointment_id}"): Case(lambda w, r, t: Call(
        f"v1/shop/appointments/{_shop_appointment(w, t)}", json={"notes": "Squeak"}, headers={"If-Match": "*"}),
        allow(EDITORS, 200), other=True),
    ("DELETE", "/v1/shop/appointments/{appointment_id}"): Case(lambda w, r, t: Call(
        f"v1/shop/appointments/{_shop_appointment(w, t)}"), allow(EDITORS, 204), other=True),
    ("PATCH", "/v1/shop/appointments/{appointment_id}/move"): Case(lambda w, r, t: Call(
        f"v1/shop/appointments/{_shop_appointment(w, t)}/move", json={"status": "IN_PROGRESS"}),
        allow(roles("owner", "admin", "advisor", "tech"), 200), other=True),
    ("GET", "/v1/shop/board"): Case(lambda w, r, t: Call(f"v1/shop/board?{SHOP_DAY}"), allow(READ_ALL, 200)),
    ("GET", "/v1/shop/appointments/{appointment_id}/services"): Case(lambda w, r, t: Call(
        f"v1/shop/appointments/{_shop_appointment(w, t)}/services"), allow(READ_ALL, 200), other=True),
    ("POST", "/v1/shop/appointments/{appointment_id}/services"): Case(lambda w, r, t: Call(
        f"v1/shop/appointments/{_shop_appointment(w, t)}/services", json={"name": "Pads", "price_cents": 100}),
        allow(roles("owner", "admin", "advisor", "tech"), 201), other=True),
    ("PATCH", "/v1/shop/appointments/{appointment_id}/services/{service_id}"): Case(lambda w, r, t: Call(
        "v1/shop/appointments/{}/services/{}".format(*_shop_service(w, t)), json={"price_cents": 7000},
        headers={"If-Match": "*"}), allow(roles("owner", "admin", "advisor", "tech"), 200), other=True),
    ("DELETE", "/v1/shop/appointments/{appointment_id}/services/{service_id}"): Case(lambda w, r, t: Call(
        "v1/shop/appointments/{}/services/{}".format(*_shop_service(w, t))),
        allow(roles("owner", "admin", "advisor", "tech"), 204), other=True),
    ("GET", "/v1/shop/appointments/{appointment_id}/payments"): Case(lambda w, r, t: Call(
        f"v1/shop/appointments/{_shop_appointment(w, t)}/payments"),
        allow(roles("owner", "admin", "advisor", "accountant"), 200), other=True),
    ("POST", "/v1/shop/appointments/{appointment_id}/payments"): Case(lambda w, r, t: Call(
        f"v1/shop/appointments/{_shop_appointment(w, t)}/payments",
        json={"amount_cents": 500, "method": "card", "allow_overpayment": True}),
        allow(roles("owner", "admin", "advisor", "accountant"), 201), other=True),
    ("POST", "/v1/shop/payments/{payment_id}/void"): Case(lambda w, r, t: Call(
        f"v1/shop/payments/{_shop_payment(w, t)}/void", json={"reason": "Wrong card"}),
        allow(roles("owner", "admin", "advisor", "accountant"), 201), other=True),
    ("GET", "/v1/shop/inspection-templates"): Case(lambda w, r, t: Call("v1/shop/inspection-templates"),
        allow(READ_ALL, 200)),
    ("POST", "/v1/shop/inspection-templates"): Case(lambda w, r, t: Call("v1/shop/inspection-templates",
        json={"name": f"Multi-point {uuid.uuid4().hex[:6]}", "labels": ["Brakes"]}), allow(EDITORS, 201)),
    ("POST", "/v1/shop/appointments/{appointment_id}/inspections"): Case(lambda w, r, t: Call(
        f"v1/shop/appointments/{_shop_appointment(w, t)}/inspections", json={"title": "Safety", "labels": ["Oil"]}),
        allow(roles("owner", "admin", "advisor", "tech"), 201), other=True),
    ("GET", "/v1/shop/inspections/{checklist_id}"): Case(lambda w, r, t: Call(
        f"v1/shop/inspections/{_shop_checklist(w, t)['id']}"), allow(READ_ALL, 200), other=True),
    ("PATCH", "/v1/shop/inspections/{checklist_id}/items/{item_id}"): Case(lambda w, r, t: (lambda c: Call(
        f"v1/shop/inspections/{c['id']}/items/{c['items'][0]['id']}", json={"status": "urgent"},
        headers={"If-Match": "*"}))(_shop_checklist(w, t)), allow(roles("owner", "admin", "advisor", "tech"), 200),
        other=True),
    ("POST", "/v1/shop/inspections/{checklist_id}/link"): Case(lambda w, r, t: Call(
        f"v1/shop/inspections/{_shop_checklist(w, t)['id']}/link", json={"ttl_hours": 2}), allow(EDITORS, 200),
        other=True),
    ("GET", "/v1/shop/inspection-approvals/{token}"): Case(lambda w, r, t: Call(
        f"v1/shop/inspection-approvals/{_shop_token(w)}", signed_in=False), allow(EVERYONE, 200)),
    ("POST", "/v1/shop/inspection-approvals/{token}"): Case(lambda w, r, t: Call(
        f"v1/shop/inspection-approvals/{_shop_token(w)}", signed_in=False,
        headers={"Content-Type": "application/x-www-form-urlencoded"}), allow(EVERYONE, 303)),
    ("GET", "/v1/shop/stats"): Case(lambda w, r, t: Call("v1/shop/stats"),
        allow(roles("owner", "admin", "advisor", "accountant"), 200)),
    ("GET", "/v1/shop/exports/appointments"): Case(lambda w, r, t: Call(f"v1/shop/exports/appointments?{SHOP_DAY}"),
        allow(roles("owner", "admin", "accountant"), 200)),
    ("GET", "/v1/shop/exports/payments"): Case(lambda w, r, t: Call(f"v1/shop/exports/payments?{SHOP_DAY}"),
        allow(roles("owner", "admin", "accountant"), 200)),
    # --- end of shop block
    # --- estimates (estimates engineer's block): owners and admins see every estimate, estimators their own and
    #     shared ones (the owner's estimate is hidden from ours: 404); managers write the rate book
    ("GET", "/v1/estimates/rate-book"): Case(lambda w, r, t: Call("v1/estimates/rate-book"), allow(PAINTERS, 200)),
    ("PUT", "/v1/estimates/rate-book"): Case(lambda w, r, t: Call("v1/estimates/rate-book", json={
        "labour_rate_cents": 7000}), allow(MANAGERS, 200)),
    ("GET", "/v1/estimates"): Case(lambda w, r, t: Call("v1/estimates?status=draft"), allow(PAINTERS, 200)),
    ("POST", "/v1/estimates"): Case(lambda w, r, t: Call("v1/estimates", json={"customer_id": _est_customer(w, r),
        "title": "Kitchen"}), allow(PAINTERS, 201)),
    ("GET", "/v1/estimates/{estimate_id}"): Case(lambda w, r, t: Call(f"v1/estimates/{_est_estimate(w, t)['id']}"),
        allow(MANAGERS, 200, hidden={"estimator"}), other=True),
    ("PATCH", "/v1/estimates/{estimate_id}"): Case(lambda w, r, t: Call(f"v1/estimates/{_est_estimate(w, t)['id']}",
        json={"notes": "Two coats"}, headers={"If-Match": "*"}), allow(MANAGERS, 200, hidden={"estimator"}),
        other=True),
    ("DELETE", "/v1/estimates/{estimate_id}"): Case(lambda w, r, t: Call(f"v1/estimates/{_est_estimate(w, t)['id']}"),
        allow(MANAGERS, 204, hidden={"estimator"}), other=True),
    ("POST", "/v1/estimates/{estimate_id}/rooms"): Case(lambda w, r, t: Call(
        f"v1/estimates/{_est_estimate(w, t)['id']}/rooms", json=_est_room_body(w, t)),
        allow(MANAGERS, 201, hidden={"estimator"}), other=True),
    ("PATCH", "/v1/estimates/{estimate_id}/rooms/{room_id}"): Case(lambda w, r, t: (lambda e: Call(
        f"v1/estimates/{e['id']}/rooms/{e['rooms'][0]['id']}", json={"doors": 2}, headers={"If-Match": "*"}))(
        _est_estimate(w, t)), allow(MANAGERS, 200, hidden={"estimator"}), other=True),
    ("DELETE", "/v1/estimates/{estimate_id}/rooms/{room_id}"): Case(lambda w, r, t: (lambda e: Call(
        f"v1/estimates/{e['id']}/rooms/{e['rooms'][0]['id']}"))(_est_estimate(w, t)),
        allow(MANAGERS, 204, hidden={"estimator"}), other=True),
    ("POST", "/v1/estimates/{estimate_id}/options"): Case(lambda w, r, t: Call(
        f"v1/estimates/{_est_estimate(w, t)['id']}/options", json={"name": "Better"}),
        allow(MANAGERS, 201, hidden={"estimator"}), other=True),
    ("DELETE", "/v1/estimates/{estimate_id}/options/{option_id}"): Case(lambda w, r, t: (lambda e: Call(
        f"v1/estimates/{e['id']}/options/{e['options'][1]['id']}"))(_est_estimate(w, t)),
        allow(MANAGERS, 204, hidden={"estimator"}), other=True),
    ("POST", "/v1/estimates/{estimate_id}/addons"): Case(lambda w, r, t: Call(
        f"v1/estimates/{_est_estimate(w, t)['id']}/addons", json={"name": "Deck", "price_cents": 100}),
        allow(MANAGERS, 201, hidden={"estimator"}), other=True),
    ("DELETE", "/v1/estimates/{estimate_id}/addons/{addon_id}"): Case(lambda w, r, t: (lambda ea: Call(
        f"v1/estimates/{ea[0]}/addons/{ea[1]}"))(_est_addon(w, t)), allow(MANAGERS, 204, hidden={"estimator"}),
        other=True),
    ("POST", "/v1/estimates/{estimate_id}/shares"): Case(lambda w, r, t: Call(
        f"v1/estimates/{_est_estimate(w, t)['id']}/shares", json={"user_id": w.peer(t)}),
        allow(MANAGERS, 201, hidden={"estimator"}), other=True),
    ("DELETE", "/v1/estimates/{estimate_id}/shares/{user_id}"): Case(lambda w, r, t: Call(
        f"v1/estimates/{_est_estimate(w, t)['id']}/shares/{w.peer(t)}"), allow(MANAGERS, 204, hidden={"estimator"}),
        other=True),
    ("POST", "/v1/estimates/{estimate_id}/send"): Case(lambda w, r, t: Call(
        f"v1/estimates/{_est_estimate(w, t)['id']}/send", json={"channel": "sms", "ttl_days": 3}),
        allow(MANAGERS, 200, hidden={"estimator"}), other=True),
    ("GET", "/v1/estimates/{estimate_id}/pdf"): Case(lambda w, r, t: Call(f"v1/estimates/{_est_sent(w, t)[0]}/pdf"),
        allow(MANAGERS, 200, hidden={"estimator"}), other=True),
    ("GET", "/v1/estimate-proposals/{token}"): Case(lambda w, r, t: Call(_est_sent(w, OWN)[1], signed_in=False),
        allow(EVERYONE, 200)),
    ("POST", "/v1/estimate-proposals/{token}"): Case(lambda w, r, t: Call(_est_sent(w, OWN)[1], signed_in=False,
        headers=_FORM, content="decision=decline&reason=later"), allow(EVERYONE, 303)),
    ("GET", "/v1/estimate-documents/{token}"): Case(lambda w, r, t: Call(_est_document(w), signed_in=False),
        allow(EVERYONE, 200)),
    # photos and colour previews (issue 14): an estimate's photos follow its visibility (the owner's is hidden
    # from our estimator: 404); previews need estimates.preview
    ("POST", "/v1/estimates/{estimate_id}/photos/uploads"): Case(lambda w, r, t: Call(
        f"v1/estimates/{_est_estimate(w, t)['id']}/photos/uploads", json={"content_type": "image/jpeg", "bytes": 10}),
        allow(MANAGERS, 201, hidden={"estimator"}), other=True),
    ("POST", "/v1/estimates/{estimate_id}/photos/{photo_id}/commit"): Case(lambda w, r, t: (lambda ep: Call(
        f"v1/estimates/{ep[0]}/photos/{ep[1]}/commit", json={}))(_est_upload(w, t)),
        allow(MANAGERS, 200, hidden={"estimator"}), other=True),
    ("GET", "/v1/estimates/{estimate_id}/photos"): Case(lambda w, r, t: Call(
        f"v1/estimates/{_est_photo(w, t)[0]}/photos"), allow(MANAGERS, 200, hidden={"estimator"}), other=True),
    ("GET", "/v1/estimates/{estimate_id}/photos/{photo_id}"): Case(lambda w, r, t: Call(_est_photo_path(w, t)),
        allow(MANAGERS, 200, hidden={"estimator"}), other=True),
    ("PATCH", "/v1/estimates/{estimate_id}/photos/{photo_id}"): Case(lambda w, r, t: Call(_est_photo_path(w, t),
        json={"caption": "North wall"}, headers={"If-Match": "*"}), allow(MANAGERS, 200, hidden={"estimator"}),
        other=True),
    ("DELETE", "/v1/estimates/{estimate_id}/photos/{photo_id}"): Case(lambda w, r, t: Call(
        _est_photo_path(w, t, fresh=True)), allow(MANAGERS, 204, hidden={"estimator"}), other=True),
    ("POST", "/v1/estimates/{estimate_id}/photos/{photo_id}/previews"): Case(lambda w, r, t: Call(
        f"{_est_photo_path(w, t)}/previews", json=_EST_COLOUR), allow(MANAGERS, 202, hidden={"estimator"}),
        other=True),
    ("GET", "/v1/estimates/{estimate_id}/photos/{photo_id}/previews"): Case(lambda w, r, t: Call(
        f"{_est_photo_path(w, t)}/previews"), allow(MANAGERS, 200, hidden={"estimator"}), other=True),
    ("GET", "/v1/estimates/{estimate_id}/photos/{photo_id}/previews/{preview_id}"): Case(lambda w, r, t: Call(
        _est_preview_path(w, t)), allow(MANAGERS, 200, hidden={"estimator"}), other=True),
    ("PATCH", "/v1/estimates/{estimate_id}/photos/{photo_id}/previews/{preview_id}"): Case(lambda w, r, t: Call(
        _est_preview_path(w, t), json={"in_proposal": False}, headers={"If-Match": "*"}),
        allow(MANAGERS, 200, hidden={"estimator"}), other=True),
    # --- end of estimates block
    # --- voice estimates (voice engineer's block): painters who may edit the estimate open voice sessions and
    #     decide drafts (the owner's estimate is hidden from our estimator: 404); the agent's tools and its
    #     post-call webhook take no token and refuse anything without the tool secret or the signature (403)
    ("POST", "/v1/estimates/{estimate_id}/voice-sessions"): Case(lambda w, r, t: Call(
        f"v1/estimates/{_voice_estimate(w, t)}/voice-sessions"), allow(MANAGERS, 201, hidden={"estimator"}),
        other=True),
    ("GET", "/v1/estimates/{estimate_id}/drafts"): Case(lambda w, r, t: Call(
        f"v1/estimates/{_voice_estimate(w, t)}/drafts"), allow(MANAGERS, 200, hidden={"estimator"}), other=True),
    ("POST", "/v1/estimates/{estimate_id}/drafts/{draft_id}/confirm"): Case(lambda w, r, t: (lambda ed: Call(
        f"v1/estimates/{ed[0]}/drafts/{ed[1]}/confirm", json={}))(_voice_draft(w, t)),
        allow(MANAGERS, 200, hidden={"estimator"}), other=True),
    ("POST", "/v1/estimates/{estimate_id}/drafts/{draft_id}/reject"): Case(lambda w, r, t: (lambda ed: Call(
        f"v1/estimates/{ed[0]}/drafts/{ed[1]}/reject", json={}))(_voice_draft(w, t)),
        allow(MANAGERS, 200, hidden={"estimator"}), other=True),
    ("POST", "/webhooks/elevenlabs/tools/{tool}"): Case(lambda w, r, t: Call("webhooks/elevenlabs/tools/list_rooms",
        json={"session_id": str(uuid.uuid4()), "conversation_id": "conv_x"}, signed_in=False),
        allow({}, 0, default=403)),
    ("POST", "/webhooks/elevenlabs/post-call"): Case(lambda w, r, t: Call("webhooks/elevenlabs/post-call",
        json={"type": "post_call_transcription", "data": {}}, signed_in=False), allow({}, 0, default=403)),
    # --- end of voice estimates block
    # --- bids (bids engineer's block): estimators, advisors and the office read; the desk uploads; estimators
    #     and managers review; managers set the code and thresholds. Cancelling a finished analysis is 409
    #     and committing before the upload is 422: both past authorisation.
    ("GET", "/v1/bids/projects"): Case(lambda w, r, t: Call("v1/bids/projects"), allow(BIDS_READ, 200)),
    ("POST", "/v1/bids/projects"): Case(lambda w, r, t: Call("v1/bids/projects", json={
        "customer_id": _bids_customer(w, r), "name": "Clinic", "address": "2 Main St"}), allow(BIDS_WRITE, 201)),
    ("GET", "/v1/bids/projects/{project_id}"): Case(lambda w, r, t: Call(
        f"v1/bids/projects/{_bids_project(w, t)}"), allow(BIDS_READ, 200), other=True),
    ("GET", "/v1/bids/projects/{project_id}/documents"): Case(lambda w, r, t: Call(
        f"v1/bids/projects/{_bids_project(w, t)}/documents"), allow(BIDS_READ, 200), other=True),
    ("POST", "/v1/bids/projects/{project_id}/documents"): Case(lambda w, r, t: Call(
        f"v1/bids/projects/{_bids_project(w, t)}/documents", json={"filename": "a.pdf"}), allow(BIDS_WRITE, 201),
        other=True),
    ("POST", "/v1/bids/documents/{document_id}/commit"): Case(lambda w, r, t: Call(
        f"v1/bids/documents/{_bids_upload(w, t)['document']['id']}/commit", json={}), allow(BIDS_WRITE, 422),
        other=True),
    ("GET", "/v1/bids/documents/{document_id}"): Case(lambda w, r, t: Call(
        f"v1/bids/documents/{_bids_document(w, t)}"), allow(BIDS_READ, 200), other=True),
    ("POST", "/v1/bids/documents/{document_id}/cancel"): Case(lambda w, r, t: Call(
        f"v1/bids/documents/{_bids_document(w, t)}/cancel"), allow(BIDS_WRITE, 409), other=True),
    ("GET", "/v1/bids/documents/{document_id}/fixtures"): Case(lambda w, r, t: Call(
        f"v1/bids/documents/{_bids_document(w, t)}/fixtures"), allow(BIDS_READ, 200), other=True),
    ("POST", "/v1/bids/documents/{document_id}/fixtures"): Case(lambda w, r, t: Call(
        f"v1/bids/documents/{_bids_document(w, t)}/fixtures",
        json={"page_number": 2, "fixture_type": "floor_drain", "box": _BIDS_BOX}), allow(BIDS_REVIEW, 201), other=True),
    ("PATCH", "/v1/bids/documents/{document_id}/fixtures/{fixture_id}"): Case(lambda w, r, t: Call(
        "v1/bids/documents/{}/fixtures/{}".format(*_bids_fixture(w, t)), json={"state": "confirmed"},
        headers={"If-Match": "*"}), allow(BIDS_REVIEW, 200), other=True),
    ("POST", "/v1/bids/documents/{document_id}/fixtures/confirm"): Case(lambda w, r, t: Call(
        f"v1/bids/documents/{_bids_fixture(w, t)[0]}/fixtures/confirm",
        json={"fixture_ids": [_bids_fixture(w, t)[1]]}), allow(BIDS_REVIEW, 200), other=True),
    ("GET", "/v1/bids/documents/{document_id}/takeoff"): Case(lambda w, r, t: Call(
        f"v1/bids/documents/{_bids_document(w, t)}/takeoff"), allow(BIDS_READ, 200), other=True),
    ("POST", "/v1/bids/documents/{document_id}/takeoff/review"): Case(lambda w, r, t: Call(
        f"v1/bids/documents/{_bids_document(w, t)}/takeoff/review"), allow(BIDS_REVIEW, 200), other=True),
    ("GET", "/v1/bids/documents/{document_id}/takeoff/reviews"): Case(lambda w, r, t: Call(
        f"v1/bids/documents/{_bids_document(w, t)}/takeoff/reviews"), allow(BIDS_READ, 200), other=True),
    ("GET", "/v1/bids/documents/{document_id}/marked-set"): Case(lambda w, r, t: Call(
        f"v1/bids/documents/{_bids_document(w, t)}/marked-set"), allow(BIDS_READ, 200), other=True),
    ("GET", "/v1/bids/settings"): Case(lambda w, r, t: Call("v1/bids/settings"), allow(BIDS_READ, 200)),
    ("PUT", "/v1/bids/settings"): Case(lambda w, r, t: Call("v1/bids/settings", json={
        "code": "IPC", "auto_accept": "0.9", "hide_below": "0.4"}), allow(MANAGERS, 200)),
    # --- end of bids block
    # --- bids pricing (bids pricing engineer's block): the bids readers read bids and the price book; the desk
    #     makes and edits bids; estimators and managers send them; managers write the price book; the customer's
    #     signed links answer anyone
    ("GET", "/v1/bids/price-book"): Case(lambda w, r, t: Call("v1/bids/price-book"), allow(BIDS_READ, 200)),
    ("PUT", "/v1/bids/price-book"): Case(lambda w, r, t: Call("v1/bids/price-book", json={
        "labour_rate_cents": 9000}), allow(MANAGERS, 200)),
    ("GET", "/v1/bids"): Case(lambda w, r, t: Call("v1/bids?status=draft"), allow(BIDS_READ, 200)),
    ("POST", "/v1/bids"): Case(lambda w, r, t: Call("v1/bids", json={"project_id": _bids_project(w, t),
        "content": {"title": "Bid", "lines": [{"fixture_type": "sink", "quantity": "1"}]}}), allow(BIDS_WRITE, 201),
        other=True),
    ("GET", "/v1/bids/{bid_id}"): Case(lambda w, r, t: Call(f"v1/bids/{_bp_bid(w, t)}"), allow(BIDS_READ, 200),
        other=True),
    ("PUT", "/v1/bids/{bid_id}"): Case(lambda w, r, t: Call(f"v1/bids/{_bp_bid(w, t)}", json={"title": "Changed"},
        headers={"If-Match": "*"}),
        allow(BIDS_WRITE, 200), other=True),
    ("POST", "/v1/bids/{bid_id}/send"): Case(lambda w, r, t: Call(f"v1/bids/{_bp_bid(w, t)}/send", json={}),
        allow(BIDS_SEND, 202), other=True),
    ("GET", "/v1/bids/{bid_id}/pdf"): Case(lambda w, r, t: Call(f"v1/bids/{_bp_sent(w, t)}/pdf"),
        allow(BIDS_READ, 200), other=True),
    ("GET", "/v1/bid-proposals/{token}"): Case(lambda w, r, t: Call(_bp_page(w), signed_in=False),
        allow(EVERYONE, 200)),
    ("POST", "/v1/bid-proposals/{token}"): Case(lambda w, r, t: Call(_bp_page(w, fresh=True), signed_in=False,
        headers=_FORM, content="decision=decline&reason=later"), allow(EVERYONE, 303)),
    ("GET", "/v1/bid-documents/{token}"): Case(lambda w, r, t: Call(_bp_document(w, _bp_sent(w, OWN)),
        signed_in=False), allow(EVERYONE, 200)),
    # --- end of bids pricing block
    # --- pricebook (pricebook engineer's block): everyone browses; managers connect and pull; owners, admins and
    # estimators edit, push and resolve. The matrix host is not connected, so starting a pull or push is 409.
    ("PUT", "/v1/pricebook/connection"): Case(lambda w, r, t: Call("v1/pricebook/connection", json={}),
        allow(MANAGERS, 422)),
    ("GET", "/v1/pricebook/connection"): Case(lambda w, r, t: Call("v1/pricebook/connection"), allow(EVERYONE, 200)),
    ("DELETE", "/v1/pricebook/connection"): Case(lambda w, r, t: Call("v1/pricebook/connection"),
        allow(MANAGERS, 204)),
    ("POST", "/v1/pricebook/syncs"): Case(lambda w, r, t: Call("v1/pricebook/syncs", json={"mode": "full"}),
        allow(MANAGERS, 409)),
    ("POST", "/v1/pricebook/pushes"): Case(lambda w, r, t: Call("v1/pricebook/pushes", json={}),
        allow(PB_EDITORS, 409)),
    ("GET", "/v1/pricebook/syncs/{run_id}"): Case(lambda w, r, t: Call(f"v1/pricebook/syncs/{_pb_run(w, t)}"),
        allow(EVERYONE, 200), other=True),
    ("GET", "/v1/pricebook/categories"): Case(lambda w, r, t: Call("v1/pricebook/categories"), allow(EVERYONE, 200)),
    **_pb_kind_rows(),
    ("GET", "/v1/pricebook/conflicts"): Case(lambda w, r, t: Call("v1/pricebook/conflicts"), allow(EVERYONE, 200)),
    ("POST", "/v1/pricebook/conflicts/{conflict_id}/resolution"): Case(lambda w, r, t: Call(
        f"v1/pricebook/conflicts/{_pb_conflict(w, t)}/resolution", json={"take": "remote"}), allow(PB_EDITORS, 200),
        other=True),
    ("GET", "/v1/pricebook/images/{kind}/{st_id}"): Case(lambda w, r, t: Call(
        f"v1/pricebook/images/materials/{_pb_item(w, t, image=b'png-bytes')}"), allow(EVERYONE, 200), other=True),
    ("GET", "/v1/pricebook/pricing"): Case(lambda w, r, t: Call("v1/pricebook/pricing"),
        allow(roles("owner", "admin", "estimator", "accountant"), 200)),
    ("PUT", "/v1/pricebook/pricing"): Case(lambda w, r, t: Call("v1/pricebook/pricing", json={"profit_percent": 25}),
        allow(MANAGERS, 200)),
    ("GET", "/v1/pricebook/pricing/drift"): Case(lambda w, r, t: Call("v1/pricebook/pricing/drift"),
        allow(roles("owner", "admin", "estimator", "accountant"), 200)),
    ("GET", "/v1/pricebook/services/{st_id}/suggested-price"): Case(lambda w, r, t: Call(
        f"v1/pricebook/services/{_pb_item(w, t, 'services')}/suggested-price"),
        allow(roles("owner", "admin", "estimator", "accountant"), 200), other=True),
    # --- end of pricebook block
    # --- leads (leads engineer's block): the form is open to anyone (202; CORS preflight 204 for the business's
    # sites); owners, admins, estimators and advisors work the leads; only the owner changes the lead settings
    ("POST", "/v1/leads/intake/{business_slug}"): Case(lambda w, r, t: Call(
        f"v1/leads/intake/{_leads_slug(w, OWN)}", json=_leads_form(), headers=client_ip(), signed_in=False),
        allow(EVERYONE, 202)),
    ("OPTIONS", "/v1/leads/intake/{business_slug}"): Case(lambda w, r, t: Call(
        f"v1/leads/intake/{_leads_slug(w, OWN)}", headers={"Origin": _LEADS_ORIGIN}, signed_in=False),
        allow(EVERYONE, 204)),
    ("GET", "/v1/leads"): Case(lambda w, r, t: Call("v1/leads"), allow(LEADS_STAFF, 200)),
    ("GET", "/v1/leads/stats"): Case(lambda w, r, t: Call("v1/leads/stats"), allow(LEADS_STAFF, 200)),
    ("GET", "/v1/leads/settings"): Case(lambda w, r, t: Call("v1/leads/settings"), allow(roles("owner"), 200)),
    ("PUT", "/v1/leads/settings"): Case(lambda w, r, t: Call("v1/leads/settings", json=_leads_settings(w)),
        allow(roles("owner"), 200)),
    ("GET", "/v1/leads/{lead_id}"): Case(lambda w, r, t: Call(f"v1/leads/{_leads_lead(w, t)}"),
        allow(LEADS_STAFF, 200), other=True),
    ("PATCH", "/v1/leads/{lead_id}"): Case(lambda w, r, t: Call(f"v1/leads/{_leads_lead(w, t)}",
        json={"status": "contacted"}, headers={"If-Match": "*"}), allow(LEADS_STAFF, 200), other=True),
    # --- end of leads block
}
# fmt: on


def registered_routes() -> frozenset[tuple[str, str]]:
    """(METHOD, /route) of every HTTP trigger, read from the function app itself."""
    return frozenset((method, "/" + route) for method, route in http_routes())


def test_every_registered_route_has_an_expectation() -> None:
    missing = registered_routes() - EXPECTED.keys()
    stale = EXPECTED.keys() - registered_routes()
    assert not missing, f"routes without a row in the authorisation matrix: {sorted(missing)}"
    assert not stale, f"matrix rows for routes the app no longer has: {sorted(stale)}"


@pytest.fixture(scope="module")
def world(app_host: RunningHost) -> World:
    client = app_host.client()
    owner = register(client, tenant_name="Matrix Auto & Paint")
    accounts = {"owner": owner}
    for role in ROLES[1:]:
        accounts[role] = login(client, email=invite(client, owner, role=role)["email"])
    other_owner = register(client, tenant_name="Someone Else's Shop")
    return World(client=client, accounts=accounts, other_owner=other_owner, ids={})


def _send(w: World, method: str, role: str, call: Call) -> httpx.Response:
    headers = dict(call.headers)
    if call.signed_in:
        headers.update(w.accounts[role].headers)
    if call.content is not None:
        return w.client.request(method, f"/api/{call.path}", content=call.content, headers=headers)
    return w.client.request(method, f"/api/{call.path}", json=call.json, headers=headers)


def _other_expectation(own: int) -> int:
    # A role without the permission is refused before any lookup (403 reveals nothing); with it, the
    # other business's record does not exist for the caller (404), never 403.
    return own if own in (401, 403) else 404


def test_every_route_answers_every_role_as_the_table_says(world: World) -> None:
    mismatches = []
    for (method, route), case in sorted(EXPECTED.items()):
        for role in ROLES:
            response = _send(world, method, role, case.call(world, role, OWN))
            if response.status_code != case.expect[role]:
                mismatches.append(
                    f"{method} {route} as {role}: {response.status_code} != {case.expect[role]} {response.text[:160]}"
                )
    assert not mismatches, "\n".join(mismatches)


def test_another_tenants_objects_answer_404_never_403_or_data(world: World) -> None:
    mismatches = []
    for (method, route), case in sorted(EXPECTED.items()):
        if not case.other:
            continue
        for role in ROLES:
            expected = _other_expectation(case.expect[role])
            response = _send(world, method, role, case.call(world, role, OTHER))
            if response.status_code != expected:
                mismatches.append(
                    f"{method} {route} as {role} on another tenant: {response.status_code} != "
                    f"{expected} {response.text[:160]}"
                )
    assert not mismatches, "\n".join(mismatches)


def test_lists_never_show_another_tenants_rows(world: World) -> None:
    theirs = world.customer(OTHER)
    for role in ROLES:
        listed = _send(world, "GET", role, Call("v1/crm/customers?limit=200")).json()["items"]
        assert theirs not in {c["id"] for c in listed}
    users = _send(world, "GET", "owner", Call("v1/users?limit=200")).json()["items"]
    assert world.other_owner.user_id not in {u["id"] for u in users}
    audit = _send(world, "GET", "owner", Call("v1/audit?limit=200")).json()["items"]
    assert world.other_owner.user_id not in {a["user_id"] for a in audit}


def test_a_disabled_module_answers_403(world: World) -> None:
    owner = world.other_owner
    tenant = world.client.get("/api/v1/tenant", headers=owner.headers)
    patched = world.client.patch(
        "/api/v1/tenant",
        headers={**owner.headers, "If-Match": tenant.headers["ETag"]},
        json={"enabled_modules": ["shop"]},
    )
    assert patched.status_code == 200, patched.text
    response = world.client.get("/api/v1/crm/customers", headers=owner.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "module_disabled"
