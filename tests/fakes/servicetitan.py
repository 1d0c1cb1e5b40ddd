"""A fake ServiceTitan on loopback, built from the published Pricebook v2 OpenAPI document and auth docs.

It speaks the wire format, not our client: `POST /connect/token` (form client credentials, 900 s tokens),
`Authorization: Bearer` and `ST-App-Key` required on every API call, lists with `page`/`pageSize`/`active`,
export feeds with `from` = continueFrom token (inactive items included), `GET/PATCH/POST` items (PATCH is a
partial update answering the full item; a service has no `cost`), `GET /images?path=Images/...` answering 302
to the file, RFC 7807-style errors, 7-digit timestamp fractions. Knobs: an optional per-second limit (429
with Retry-After), a burst of 429s, remote edits between syncs (`edit`, `deactivate`, `move_category`), and hooks
before a PATCH or an export page is answered.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

from devhost.sms import JsonHandler, LoopbackServer

KINDS = ("categories", "materials", "services", "equipment")
PATCHABLE = {
    "categories": {"name", "active", "description", "parentId", "position"},
    "materials": {
        "code",
        "displayName",
        "description",
        "cost",
        "active",
        "price",
        "memberPrice",
        "addOnPrice",
        "hours",
    },
    "services": {"code", "displayName", "description", "active", "price", "memberPrice", "addOnPrice", "hours"},
    "equipment": {
        "code",
        "displayName",
        "description",
        "cost",
        "active",
        "price",
        "memberPrice",
        "addOnPrice",
        "hours",
    },
}
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    + "1f15c4890000000d49444154789c63600000000200010e21bc330000000049454e44ae426082"
)


def st_time(moment: datetime) -> str:
    """ServiceTitan's timestamp style: UTC with seven fractional digits."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


@dataclass
class FakeState:
    """Everything the fake knows, readable by tests."""

    app_key: str = "fake-app-key"
    st_tenant_id: int = 1234567
    clients: dict[str, str] = field(default_factory=lambda: {"fake-client": "fake-secret"})
    tokens: dict[str, float] = field(default_factory=dict)
    items: dict[str, dict[int, dict[str, Any]]] = field(default_factory=lambda: {k: {} for k in KINDS})
    seq: dict[tuple[str, int], int] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    token_requests: int = 0
    counter: int = 0
    next_id: int = 90_000_000
    export_page_size: int = 5000
    max_per_second: int | None = None
    burst_429: int = 0
    retry_after: str = "1"
    window: list[float] = field(default_factory=list)
    throttled: int = 0
    before_patch: Any = None  # a test's hook: someone edits the item between our GET and our PATCH
    before_export: Any = None  # a test's hook (kind, from token), outside the lock: a slow or held export page


class _Handler(JsonHandler):
    fake: ClassVar[FakeServiceTitan]

    def _problem(self, status: int, title: str, errors: dict[str, Any] | None = None) -> None:
        body = {"type": "https://httpstatuses.com/" + str(status), "title": title, "status": status}
        body |= {"traceId": secrets.token_hex(8), "errors": errors or {}, "data": {}}
        self.send_json(status, body)

    def do_POST(self) -> None:
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if url.path == "/connect/token":
            return self._token(body)
        if self._guard(url) is None:
            return None
        kind = url.path.split("/")[-1]
        if kind not in KINDS:
            return self._problem(404, "Not found")
        item = self.fake.create(kind, json.loads(body or b"{}"))
        return self.send_json(200, item)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path.startswith("/files/"):
            return self._file(url.path.removeprefix("/files/"))
        parts = self._guard(url)
        if parts is None:
            return None
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        state = self.fake.state
        exporting = parts[0] == "export" and len(parts) == 2 and parts[1] in KINDS
        if exporting and state.before_export is not None:
            state.before_export(parts[1], query.get("from"))
        with self.fake.lock:
            if exporting:
                return self.send_json(200, self.fake.export(parts[1], query.get("from")))
            if parts == ["images"]:
                path = query.get("path", "")
                if not path.startswith("Images/") or path not in state.files:
                    return self._problem(404, "The requested entity was not found")
                self.send_response(302)
                self.send_header("Location", f"/files/{path}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if len(parts) == 1 and parts[0] in KINDS:
                return self.send_json(200, self.fake.list_page(parts[0], query))
            if len(parts) == 2 and parts[0] in KINDS and parts[1].isdigit():
                item = state.items[parts[0]].get(int(parts[1]))
                return self.send_json(200, item) if item else self._problem(404, "The requested entity was not found")
        return self._problem(404, "Not found")

    def do_PATCH(self) -> None:
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        parts = self._guard(url)
        if parts is None:
            return None
        if len(parts) != 2 or parts[0] not in KINDS or not parts[1].isdigit():
            return self._problem(404, "Not found")
        fields = json.loads(body or b"{}")
        unknown = sorted(set(fields) - PATCHABLE[parts[0]])
        if unknown:
            return self._problem(
                400, "One or more validation errors occurred.", {f: ["Unknown field"] for f in unknown}
            )
        with self.fake.lock:
            item = self.fake.state.items[parts[0]].get(int(parts[1]))
            if item is None:
                return self._problem(404, "The requested entity was not found")
            if self.fake.state.before_patch is not None:
                self.fake.state.before_patch(parts[0], item)
            self.fake.touch(parts[0], item, fields)
            return self.send_json(200, item)

    # --- plumbing ------------------------------------------------------------------------------------------

    def _token(self, body: bytes) -> None:
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        state = self.fake.state
        state.token_requests += 1
        if form.get("grant_type") != "client_credentials" or state.clients.get(form.get("client_id", "")) != form.get(
            "client_secret"
        ):
            return self.send_json(400, {"error": "invalid_client"})
        token = secrets.token_urlsafe(24)
        state.tokens[token] = time.monotonic() + 900
        return self.send_json(200, {"access_token": token, "expires_in": 900, "token_type": "Bearer"})

    def _file(self, path: str) -> None:
        data = self.fake.state.files.get(path)
        if data is None:
            return self._problem(404, "Not found")
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return None

    def _guard(self, url: Any) -> list[str] | None:
        """The path after /pricebook/v2/tenant/{id}/, or None once an error was answered."""
        state = self.fake.state
        bearer = (self.headers.get("authorization") or "").removeprefix("Bearer ").strip()
        app_key = self.headers.get("st-app-key")
        with self.fake.lock:
            state.calls.append({"method": self.command, "path": url.path, "app_key": app_key})
            if state.burst_429 > 0 or self._over_limit():
                state.burst_429 = max(0, state.burst_429 - 1)
                state.throttled += 1
                self.send_response(429)
                self.send_header("Retry-After", state.retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
        if app_key != state.app_key:
            self._problem(401, "Missing or invalid ST-App-Key")
            return None
        if state.tokens.get(bearer, 0) < time.monotonic():
            self._problem(401, "Unauthorized")
            return None
        prefix = f"/pricebook/v2/tenant/{state.st_tenant_id}/"
        if not url.path.startswith(prefix):
            self._problem(403, "The app has no access to this tenant")
            return None
        return url.path.removeprefix(prefix).split("/")

    def _over_limit(self) -> bool:
        state = self.fake.state
        if state.max_per_second is None:
            return False
        now = time.monotonic()
        state.window = [t for t in state.window if now - t < 1.0]
        if len(state.window) >= state.max_per_second:
            return True
        state.window.append(now)
        return False


class FakeServiceTitan(LoopbackServer):
    """The fake server and its knobs."""

    handler_class = _Handler
    handler_attribute = "fake"

    def __init__(self) -> None:
        self.state = FakeState()
        self.lock = threading.RLock()
        self.clock = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    # --- the feed ----------------------------------------------------------------------------------------------

    def _now(self) -> str:
        self.clock += timedelta(microseconds=1234)
        return st_time(self.clock)

    def touch(self, kind: str, item: dict[str, Any], fields: dict[str, Any]) -> None:
        """Apply fields to item as a change made now (it shows in the export feed again)."""
        item.update(fields)
        item["modifiedOn"] = self._now()
        self.state.counter += 1
        self.state.seq[(kind, item["id"])] = self.state.counter

    def export(self, kind: str, token: str | None) -> dict[str, Any]:
        """Items changed after the token, oldest change first; the token is the last change sequence seen."""
        after = int(token) if token and token.isdigit() else 0
        changed = sorted((s, i) for (k, i), s in self.state.seq.items() if k == kind and s > after)
        page = changed[: self.state.export_page_size]
        data = [self.state.items[kind][i] for _, i in page]
        last = page[-1][0] if page else after
        return {"hasMore": len(changed) > len(page), "continueFrom": str(last), "data": data}

    def list_page(self, kind: str, query: dict[str, str]) -> dict[str, Any]:
        """A list page with ServiceTitan's paging and active filter."""
        page, size = max(1, int(query.get("page", 1))), min(5000, max(1, int(query.get("pageSize", 50))))
        active = query.get("active", "True")
        rows = [i for i in self.state.items[kind].values() if active == "Any" or i["active"] == (active == "True")]
        chunk = rows[(page - 1) * size : page * size]
        total = len(rows) if query.get("includeTotal") == "true" else None
        return {"page": page, "pageSize": size, "hasMore": page * size < len(rows), "totalCount": total, "data": chunk}

    def create(self, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A new item with a fresh id."""
        with self.lock:
            self.state.next_id += 1
            item = {"id": self.state.next_id, "active": True, "categories": [], "assets": [], **fields}
            item.setdefault("createdOn", self._now())
            self.state.items[kind][item["id"]] = item
            self.touch(kind, item, {})
            return item

    # --- knobs for tests -------------------------------------------------------------------------------------

    def edit(self, kind: str, item_id: int, **fields: Any) -> dict[str, Any]:
        """Someone changes an item in ServiceTitan."""
        with self.lock:
            item = self.state.items[kind][item_id]
            self.touch(kind, item, fields)
            return item

    def deactivate(self, kind: str, item_id: int) -> None:
        """Someone deletes (deactivates) an item in ServiceTitan; the export feed still carries it."""
        self.edit(kind, item_id, active=False)

    def move_category(self, category_id: int, parent_id: int | None) -> None:
        """Someone moves a category under another one."""
        self.edit("categories", category_id, parentId=parent_id)

    def category_count(self) -> int:
        """Every category, nested ones included."""
        top = self.state.items["categories"].values()
        return len(top) + sum(len(c.get("subcategories") or []) for c in top)

    def api_calls(self) -> list[dict[str, Any]]:
        """Every API call received (method, path, the ST-App-Key it carried)."""
        with self.lock:
            return list(self.state.calls)

    # --- seeding -------------------------------------------------------------------------------------------------

    def seed(
        self,
        *,
        categories: int = 104,
        materials: int = 5719,
        services: int = 2161,
        equipment: int = 292,
        nested: int = 0,
    ) -> None:
        """A realistic home-services pricebook, the same every time; `nested` subcategories sit inside the first
        category's `subcategories` (as ServiceTitan nests them) rather than as records of their own."""
        rng = random.Random(17)
        with self.lock:
            top = max(min(2, categories), categories // 8)
            for n in range(categories):
                cid = 1000 + n
                parent = None if n < top else 1000 + rng.randrange(0, top)
                self._put("categories", _category(cid, n, parent))
            if nested and categories:
                first = self.state.items["categories"][1000]
                first["subcategories"] = [_category(9000 + n, n, 1000) for n in range(nested)]
            category_ids = [1000 + n for n in range(categories)] or [1000]
            for n in range(materials):
                self._put("materials", _material(20_000 + n, n, rng, rng.choice(category_ids), self))
            for n in range(equipment):
                self._put("equipment", _equipment(60_000 + n, n, rng, rng.choice(category_ids)))
            material_ids = [20_000 + n for n in range(max(1, materials))]
            for n in range(services):
                self._put("services", _service(40_000 + n, n, rng, rng.choice(category_ids), material_ids))

    def _put(self, kind: str, item: dict[str, Any]) -> None:
        item.setdefault("createdOn", self._now())
        item.setdefault("modifiedOn", self._now())
        self.state.items[kind][item["id"]] = item
        self.state.counter += 1
        self.state.seq[(kind, item["id"])] = self.state.counter


TRADES = ("Plumbing", "HVAC", "Electrical", "Drains", "Water Heaters", "Filtration", "Gas", "Generators")
PARTS = ("Ball valve", "PEX elbow", "Copper tee", "Flex connector", "Wax ring", "Breaker", "Capacitor", "Filter")


def _category(cid: int, n: int, parent: int | None) -> dict[str, Any]:
    return {
        "id": cid,
        "name": f"{TRADES[n % len(TRADES)]} {n}",
        "active": True,
        "description": None,
        "image": f"Images/Category/{cid}.png" if n % 10 == 0 else None,
        "parentId": parent,
        "position": n,
        "categoryType": "Services" if n % 2 else "Materials",
        "subcategories": [],
        "businessUnitIds": [],
        "hideInMobile": False,
    }


def _money(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def _material(mid: int, n: int, rng: random.Random, category: int, fake: FakeServiceTitan) -> dict[str, Any]:
    cost = _money(rng, 0.5, 400)
    assets = []
    if n % 50 == 0:
        path = f"Images/Material/{mid}.png"
        fake.state.files[path] = PNG
        assets = [{"alias": None, "fileName": f"{mid}.png", "isDefault": True, "type": "Image", "url": path}]
    return {
        "id": mid,
        "code": f"MAT-{n:05d}",
        "displayName": f"{PARTS[n % len(PARTS)]} {n}",
        "description": f"<p>{PARTS[n % len(PARTS)]}, size {n % 7 + 1}</p>",
        "cost": cost,
        "active": True,
        "price": round(cost * 2, 2),
        "memberPrice": round(cost * 1.8, 2),
        "addOnPrice": round(cost * 1.9, 2),
        "addOnMemberPrice": round(cost * 1.7, 2),
        "hours": 0,
        "bonus": 0,
        "commissionBonus": 0,
        "paysCommission": False,
        "deductAsJobCost": False,
        "unitOfMeasure": "Each",
        "isInventory": n % 3 == 0,
        "taxable": True,
        "categories": [category],
        "assets": assets,
        "isConfigurableMaterial": False,
        "chargeableByDefault": True,
        "createdById": 1,
        "displayInAmount": False,
        "isOtherDirectCost": False,
    }


def _equipment(eid: int, n: int, rng: random.Random, category: int) -> dict[str, Any]:
    cost = _money(rng, 300, 6000)
    return {
        "id": eid,
        "code": f"EQ-{n:04d}",
        "displayName": f"Unit {n}",
        "description": f"<p>{TRADES[n % len(TRADES)]} unit {n}</p>",
        "active": True,
        "price": round(cost * 1.6, 2),
        "memberPrice": round(cost * 1.5, 2),
        "addOnPrice": round(cost * 1.55, 2),
        "addOnMemberPrice": round(cost * 1.45, 2),
        "manufacturer": ("Rheem", "Carrier", "Trane", "A. O. Smith")[n % 4],
        "model": f"M{n:04d}",
        "cost": cost,
        "hours": 2,
        "categories": [category],
        "assets": [],
        "equipmentMaterials": [],
        "isInventory": False,
        "taxable": True,
    }


def _service(sid: int, n: int, rng: random.Random, category: int, material_ids: list[int]) -> dict[str, Any]:
    hours = rng.choice((0.5, 1, 1.5, 2, 3, 4))
    links = [{"skuId": rng.choice(material_ids), "quantity": rng.choice((1, 2, 3))} for _ in range(n % 3)]
    return {
        "id": sid,
        "code": f"SVC-{n:04d}",
        "displayName": f"{TRADES[n % len(TRADES)]} service {n}",
        "description": f"<p>Diagnose and repair, {hours} h</p>",
        "categories": [{"id": category, "name": f"Category {category}", "active": True}],
        "price": round(hours * 180 + 49, 2),
        "memberPrice": round(hours * 160 + 49, 2),
        "addOnPrice": round(hours * 170 + 49, 2),
        "addOnMemberPrice": round(hours * 150 + 49, 2),
        "taxable": False,
        "hours": hours,
        "recommendations": [],
        "upgrades": [],
        "assets": [],
        "serviceMaterials": links,
        "serviceEquipment": [],
        "active": True,
        "paysCommission": True,
        "bonus": 0,
        "commissionBonus": 0,
        "cost": 0,
        "soldByCommission": 0,
    }


def settings_for(fake: FakeServiceTitan) -> dict[str, str]:
    """The settings that point our client at this fake (production and integration URLs alike), with a test KEK."""
    return {
        "SERVICETITAN_APP_KEY": fake.state.app_key,
        "PRICEBOOK_KEY_ENCRYPTION_KEY": "test-pricebook-kek-0123456789abcdef",
        "SERVICETITAN_AUTH_URL": fake.base_url,
        "SERVICETITAN_API_BASE_URL": fake.base_url,
        "SERVICETITAN_INTEGRATION_AUTH_URL": fake.base_url,
        "SERVICETITAN_INTEGRATION_API_BASE_URL": fake.base_url,
    }
