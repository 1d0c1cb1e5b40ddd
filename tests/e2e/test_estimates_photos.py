"""Estimate photos and colour previews over HTTP through the dev host, with no outside keys (issue 14).

A real JPEG (12 MP is the benchmark's; here 3000x2000 with a GPS position in its EXIF) is PUT to its SAS URL,
committed, and its 320 px and 1280 px WebP thumbnails appear; the stored original has no location left. A
preview in a colour comes back recoloured by the local provider: same size as the photo, different pixels,
labelled AI visualisation. Marked for the proposal, photo and preview print in the proposal PDF with the
label. Refusals: a blob name we did not issue is 403, a file that is not an image by its bytes 422 (the photo
waits for a proper upload), a stale PATCH 412, past the daily cap 429 with Retry-After. The host gets its own
Azurite, so its queues are served by this host alone.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from tests.builders import Account, register, unique_phone
from tests.conftest import Database, RunningHost, start_host

CAP = 3


@dataclass
class Env:
    host: RunningHost
    client: httpx.Client
    owner: Account


@pytest.fixture(scope="module")
def env(database: Database) -> Iterator[Env]:
    from devhost.services import free_azurite

    azurite = free_azurite().start()
    host = start_host(
        "function_app:app",
        env={"AzureWebJobsStorage": azurite.connection_string, "PREVIEWS_PER_TENANT_DAY": str(CAP)},
    )
    client = host.client()
    try:
        yield Env(host, client, register(client, tenant_name="Pinpoint Photos"))
    finally:
        client.close()
        host.stop()
        azurite.stop()


def _ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), response.text
    return response.json() if response.content else None


def room_jpeg(width: int = 3000, height: int = 2000, *, gps: bool = True) -> bytes:
    """A room-like photo: a pale wall, a floor, a sofa and a window; with a GPS position in its EXIF."""
    image = Image.new("RGB", (width, height), (224, 220, 212))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, int(height * 0.82), width, height], fill=(118, 82, 50))
    draw.rectangle([int(width * 0.1), int(height * 0.55), int(width * 0.45), int(height * 0.85)], fill=(40, 60, 120))
    draw.rectangle([int(width * 0.6), int(height * 0.2), int(width * 0.85), int(height * 0.5)], fill=(250, 250, 252))
    image = Image.blend(image, Image.effect_noise((width, height), 10).convert("RGB"), 0.05)
    exif = Image.Exif()
    exif[0x010F] = "Pinpoint camera"
    if gps:
        position = exif.get_ifd(0x8825)
        position.update({1: "N", 2: (30.0, 16.0, 4.5), 3: "W", 4: (97.0, 44.0, 3.25)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, exif=exif.tobytes())
    return out.getvalue()


def _estimate(env: Env) -> dict[str, Any]:
    customer = _ok(
        env.client.post(
            "/api/v1/crm/customers", headers=env.owner.headers, json={"name": "Rosa", "phone": unique_phone()}
        )
    )
    body = {"customer_id": customer["id"], "title": "Living room"}
    return _ok(env.client.post("/api/v1/estimates", headers=env.owner.headers, json=body))


def _upload(env: Env, estimate_id: str, data: bytes, content_type: str = "image/jpeg") -> dict[str, Any]:
    base = f"/api/v1/estimates/{estimate_id}/photos"
    ticket = _ok(
        env.client.post(
            f"{base}/uploads", headers=env.owner.headers, json={"content_type": content_type, "bytes": len(data)}
        ),
        201,
    )
    assert ticket["photo"]["status"] == "awaiting_upload"
    put = httpx.put(ticket["upload_url"], content=data, headers=ticket["upload_headers"], timeout=60)
    assert put.status_code == 201, put.text
    return ticket


def _wait(env: Env, path: str, done: Any, what: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = _ok(env.client.get(path, headers=env.owner.headers))
        if done(body):
            return body
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {body}\n{env.host.log_tail()}"
        time.sleep(0.3)


def _image(url: str) -> Image.Image:
    response = httpx.get(url, timeout=60)
    assert response.status_code == 200, response.text
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


def test_a_photo_by_sas_gets_thumbnails_and_a_recoloured_preview_that_prints_in_the_proposal(env: Env) -> None:
    # given an estimate and a real JPEG with a GPS position, PUT to its write-only URL and committed
    estimate = _estimate(env)
    data = room_jpeg()
    ticket = _upload(env, estimate["id"], data)
    photo_path = f"/api/v1/estimates/{estimate['id']}/photos/{ticket['photo']['id']}"
    committed = _ok(env.client.post(f"{photo_path}/commit", headers=env.owner.headers, json={}))
    assert (committed["status"], committed["kind"], committed["location_removed"]) == ("committed", "jpeg", True)
    assert (committed["width"], committed["height"]) == (3000, 2000)
    again = _ok(env.client.post(f"{photo_path}/commit", headers=env.owner.headers, json={}))
    assert again["id"] == committed["id"] and again["version"] == committed["version"]  # a retry changes nothing

    # then its thumbnails appear, and the stored original keeps its pixels and camera but not its location
    photo = _wait(env, photo_path, lambda p: p["thumbnail_status"] != "pending", "the thumbnails")
    assert photo["thumbnail_status"] == "ready", photo
    small, large = _image(photo["thumbnail_url"]), _image(photo["large_url"])
    assert (small.format, small.size, large.format, large.size) == ("WEBP", (320, 213), "WEBP", (1280, 853))
    original = _image(photo["url"])
    assert original.size == (3000, 2000)
    assert original.getexif().get_ifd(0x8825) == {} and original.getexif()[0x010F] == "Pinpoint camera"
    listed = _ok(env.client.get(f"/api/v1/estimates/{estimate['id']}/photos", headers=env.owner.headers))
    assert [p["id"] for p in listed["items"]] == [photo["id"]]

    # when a preview in a colour is asked for (twice: the same preview)
    colour = {"name": "Naval", "brand": "Sherwin-Williams", "code": "SW 6244", "hex": "#2F3D4C"}
    body = {"colour": colour, "surfaces": ["walls"], "finish": "eggshell"}
    asked = _ok(env.client.post(f"{photo_path}/previews", headers=env.owner.headers, json=body), 202)
    assert (
        _ok(env.client.post(f"{photo_path}/previews", headers=env.owner.headers, json=body), 202)["id"] == asked["id"]
    )
    preview_path = f"{photo_path}/previews/{asked['id']}"
    preview = _wait(env, preview_path, lambda p: p["status"] in ("ready", "failed"), "the preview")

    # then it is a recoloured image of the photo's size, labelled, made by the local provider at no cost
    assert preview["status"] == "ready", preview
    assert (preview["provider"], preview["model"], preview["cost_units"]) == ("local", "local-recolour-1", 0)
    assert preview["label"] == "AI visualisation" and preview["colour"]["hex"] == "#2f3d4c"
    recoloured = _image(preview["url"]).convert("RGB")
    assert recoloured.size == original.size
    difference = ImageStat.Stat(ImageChops.difference(recoloured, original.convert("RGB"))).mean
    assert max(difference) > 5, difference
    wall = recoloured.crop((100, 100, 600, 400)).resize((1, 1)).getpixel((0, 0))
    assert isinstance(wall, tuple) and wall[2] > wall[0], f"the wall turned toward the blue: {wall}"
    previews = _ok(env.client.get(f"{photo_path}/previews", headers=env.owner.headers))
    assert [p["id"] for p in previews["items"]] == [preview["id"]]

    # when photo and preview are marked for the proposal (If-Match) and the estimate is sent
    stale = env.client.patch(photo_path, headers={**env.owner.headers, "If-Match": '"999"'}, json={"in_proposal": True})
    assert stale.status_code == 412, stale.text
    marked = env.client.patch(
        photo_path,
        headers={**env.owner.headers, "If-Match": f'"{photo["version"]}"'},
        json={"in_proposal": True, "caption": "Living room, north wall"},
    )
    assert marked.status_code == 200 and marked.json()["in_proposal"] is True, marked.text
    included = env.client.patch(
        preview_path, headers={**env.owner.headers, "If-Match": f'"{preview["version"]}"'}, json={"in_proposal": True}
    )
    assert included.status_code == 200 and included.json()["in_proposal"] is True, included.text
    _ok(env.client.post(f"/api/v1/estimates/{estimate['id']}/send", headers=env.owner.headers, json={"channel": "sms"}))
    link = _ok(env.client.get(f"/api/v1/estimates/{estimate['id']}/pdf", headers=env.owner.headers))
    pdf = httpx.get(link["url"], timeout=30).content

    # then the PDF carries both images and the preview's label and note
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    images = sum(
        1
        for i in range(len(document))
        for item in document[i].get_objects()
        if item.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE
    )
    assert images == 2, images
    assert "AI visualisation" in text and "Living room, north wall" in text and "SW 6244" in text

    # when the photo is deleted, it is gone from the list and its previews with it
    assert env.client.delete(photo_path, headers=env.owner.headers).status_code == 204
    assert _ok(env.client.get(f"/api/v1/estimates/{estimate['id']}/photos", headers=env.owner.headers))["items"] == []
    assert env.client.get(preview_path, headers=env.owner.headers).status_code == 404


def test_uploads_we_did_not_issue_or_that_are_no_image_are_refused_and_lose_nothing(env: Env) -> None:
    estimate = _estimate(env)
    base = f"/api/v1/estimates/{estimate['id']}/photos"
    # a blob name not issued for this photo (another photo's, and a forged one) is refused
    first, second = _upload(env, estimate["id"], room_jpeg(400, 300)), _upload(env, estimate["id"], room_jpeg(400, 300))
    path = f"{base}/{first['photo']['id']}/commit"
    second_name = httpx.URL(second["upload_url"]).path.split("/uploads/", 1)[1]  # issued, but for another photo
    other = env.client.post(path, headers=env.owner.headers, json={"blob_name": second_name})
    assert other.status_code == 403 and other.headers["content-type"].startswith("application/problem+json")
    forged_name = f"tenants/{env.owner.tenant_id}/estimates/{estimate['id']}/photos/{'0' * 32}.{'f' * 16}.jpg"
    forged = env.client.post(path, headers=env.owner.headers, json={"blob_name": forged_name})
    assert forged.status_code == 403, forged.text
    assert env.client.post(path, headers=env.owner.headers, json={}).status_code == 200  # the real one still commits

    # a file that is not an image by its bytes is 422; the photo waits for a proper upload of the same name
    ticket = _upload(env, estimate["id"], b"<html>not a photo</html>" * 10)
    path = f"{base}/{ticket['photo']['id']}/commit"
    refused = env.client.post(path, headers=env.owner.headers, json={})
    assert refused.status_code == 422 and refused.json()["code"] == "upload_wrong_type", refused.text
    photo = _ok(env.client.get(f"{base}/{ticket['photo']['id']}", headers=env.owner.headers))
    assert photo["status"] == "awaiting_upload"
    put = httpx.put(ticket["upload_url"], content=room_jpeg(400, 300), headers=ticket["upload_headers"], timeout=30)
    assert put.status_code == 201, put.text
    assert _ok(env.client.post(path, headers=env.owner.headers, json={}))["status"] == "committed"

    # nothing uploaded yet is 422; an unknown content type or too many bytes is 422 before any URL is issued
    empty = _ok(
        env.client.post(f"{base}/uploads", headers=env.owner.headers, json={"content_type": "image/png", "bytes": 1000})
    )
    missing = env.client.post(f"{base}/{empty['photo']['id']}/commit", headers=env.owner.headers, json={})
    assert missing.status_code == 422 and missing.json()["code"] == "upload_missing"
    for wrong in ({"content_type": "image/gif", "bytes": 10}, {"content_type": "image/png", "bytes": 26 * 2**20}):
        assert env.client.post(f"{base}/uploads", headers=env.owner.headers, json=wrong).status_code == 422


def test_the_daily_preview_cap_answers_429_with_retry_after(env: Env) -> None:
    fresh = register(env.client, tenant_name="Capped Painting")
    capped = Env(env.host, env.client, fresh)
    estimate = _estimate(capped)
    ticket = _upload(capped, estimate["id"], room_jpeg(400, 300, gps=False))
    path = f"/api/v1/estimates/{estimate['id']}/photos/{ticket['photo']['id']}"
    assert _ok(env.client.post(f"{path}/commit", headers=fresh.headers, json={}))["location_removed"] is False
    colours = [f"#{n:02x}4060" for n in range(CAP + 1)]
    bodies = [{"colour": {"name": f"Colour {c}", "hex": c}, "surfaces": ["walls", "ceiling"]} for c in colours]
    for body in bodies[:CAP]:
        _ok(env.client.post(f"{path}/previews", headers=fresh.headers, json=body), 202)
    over = env.client.post(f"{path}/previews", headers=fresh.headers, json=bodies[CAP])
    assert over.status_code == 429 and over.json()["code"] == "preview_cap_reached", over.text
    assert 0 < int(over.headers["Retry-After"]) <= 86_400
    # asking again for one already made costs nothing and still answers
    assert env.client.post(f"{path}/previews", headers=fresh.headers, json=bodies[0]).status_code == 202
