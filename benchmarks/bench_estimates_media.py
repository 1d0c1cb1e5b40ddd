"""Estimate photos and colour previews (issue 14), each figure next to a baseline measured in the same run.

Independent measure functions, each answering a dict of figures; main() merges them into one JSON object
(the last line). Add a figure by adding a function to MEASURES.

- commit_to_thumbnail: a 12-megapixel JPEG (4000x3000, about 5 MB) uploaded by its SAS URL to Azurite, then
  timed from the commit (size and type check, GPS removal, copy into the photos container, outbox) through the
  thumbnail worker (download, decode, 320 px and 1280 px WebP, upload, record), both in-process against the
  embedded PostgreSQL and Azurite; the queue's transit between them is not included (the dev host polls).
  Baseline: Pillow's plain full decode of the same bytes, resize to 1280 and 320 px and WebP encode, in memory.
- local_preview: the local recolouring of the same 12-MP photo (decode, mask, recolour, JPEG encode at full
  size), p95 (target < 1.5 s), and the peak memory of a process doing one (VmHWM, read by the process itself).
  Baseline: Pillow's plain decode and JPEG re-encode of the same photo at full size (the least any same-size
  answer costs), timed and measured the same way.
- webhook_to_drafts (`media_voice.py`, in its own process with its own dev host): a signed post-call webhook of a
  10-minute call (100 turns, 20 rooms) to its 20 draft rooms through the dev host and its queue, p95; baselines:
  the parser alone on the same payload, and the host's floor (GET /api/health); its HTTP calls are timed with the
  harness's TimingClient (http.client, one kept-alive connection), not httpx, whose own cost would count as the host's.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

RUNS, WARMUP = 12, 2
TARGETS = {"local_preview_p95_ms": 1500.0}


def _percentile(values: list[float], q: float) -> float:
    return harness.percentile(values, q, digits=1)


def _timed(run: Callable[[], object], runs: int = RUNS) -> list[float]:
    return harness.stopwatch(run, runs, WARMUP)


def photo_12mp() -> bytes:
    """A 4000x3000 room-like JPEG with camera-like noise (so it weighs what a phone's does) and a GPS position."""
    from PIL import Image, ImageDraw

    width, height = 4000, 3000
    image = Image.new("RGB", (width, height), (224, 220, 212))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, int(height * 0.82), width, height], fill=(118, 82, 50))
    draw.rectangle([400, 1650, 1800, 2550], fill=(40, 60, 120))
    draw.rectangle([2400, 600, 3400, 1500], fill=(250, 250, 252))
    image = Image.blend(image, Image.effect_noise((width, height), 48).convert("RGB"), 0.22)
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 16.0, 4.5), 3: "W", 4: (97.0, 44.0, 3.25)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def _plain_thumbnails(data: bytes) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        for px in (1280, 320):
            copy = image.copy()
            copy.thumbnail((px, px))
            copy.save(io.BytesIO(), "WEBP", quality=80)


def measure_commit_to_thumbnail(data: bytes) -> dict[str, Any]:
    """Commit to thumbnails of a 12-MP JPEG, in-process, and the plain Pillow baseline."""
    import httpx

    from blueprints.estimates import media_pipeline, photos
    from blueprints.estimates.models import Estimate
    from blueprints.estimates.photo_schemas import PhotoCommitIn, PhotoUploadIn, ThumbnailTask
    from shared import audit
    from shared.db import session_scope
    from tests.builders import create_customer, create_tenant, create_user, principal_of

    with session_scope() as session:
        tenant = create_tenant(session, name="Bench Painting")
        owner = create_user(session, tenant=tenant)
        customer = create_customer(session, tenant=tenant, owner=owner)
        estimate = Estimate(
            id=uuid.uuid4(), tenant_id=tenant.id, customer_id=customer.id, owner_id=owner.id, title="Den"
        )
        session.add(estimate)
        principal, tenant_id, estimate_id = principal_of(owner), tenant.id, estimate.id

    def upload() -> uuid.UUID:
        with session_scope(tenant_id=tenant_id) as session:
            ticket = photos.create_upload(
                session=session,
                principal=principal,
                actor=audit.SYSTEM,
                estimate_id=estimate_id,
                upload_in=PhotoUploadIn(content_type="image/jpeg", bytes=len(data)),
            )
        put = httpx.put(ticket.upload_url, content=data, headers=ticket.upload_headers, timeout=120)
        assert put.status_code == 201, put.text
        return ticket.photo.id

    def commit_and_thumbnails(photo_id: uuid.UUID) -> float:
        started = time.perf_counter()
        with session_scope(tenant_id=tenant_id) as session:
            photos.commit_photo(
                session=session,
                principal=principal,
                actor=audit.SYSTEM,
                estimate_id=estimate_id,
                photo_id=photo_id,
                commit_in=PhotoCommitIn(),
            )
        outcome = media_pipeline.make_thumbnails(ThumbnailTask(tenant_id=tenant_id, photo_id=photo_id))
        assert outcome == "ready", outcome
        return (time.perf_counter() - started) * 1000

    for _ in range(WARMUP):
        commit_and_thumbnails(upload())
    times = [commit_and_thumbnails(upload()) for _ in range(RUNS)]
    baseline = _timed(lambda: _plain_thumbnails(data))
    return {
        "photo_mb": round(len(data) / 1e6, 2),
        "commit_to_thumbnail_p50_ms": _percentile(times, 0.5),
        "commit_to_thumbnail_p95_ms": _percentile(times, 0.95),
        "baseline_plain_decode_resize_p95_ms": _percentile(baseline, 0.95),
        "commit_to_thumbnail_vs_baseline_p95": round(_percentile(times, 0.95) / _percentile(baseline, 0.95), 2),
    }


# A process that reads its own high-water mark (VmHWM) before and after one piece of work on the photo.
MEMORY = """
import io, json, sys
from PIL import Image
from shared.providers import local_recolour
def hwm():
    return int([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1])
data = open(sys.argv[1], "rb").read()
before = hwm()
if sys.argv[2] == "preview":
    local_recolour.local().recolour(image=data, hex_colour="#3b6e8f", surfaces=["walls"])
else:
    with Image.open(io.BytesIO(data)) as image:
        image.convert("RGB").save(io.BytesIO(), "JPEG", quality=90)
print(json.dumps({"before_kb": before, "peak_kb": hwm()}))
"""


def _memory(path: Path, work: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY, str(path), work],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "peak_mb": round(figures["peak_kb"] / 1024, 1),
        "added_mb": round((figures["peak_kb"] - figures["before_kb"]) / 1024, 1),
    }


def measure_local_preview(data: bytes) -> dict[str, Any]:
    """The local recolouring of a 12-MP photo: p95 and peak memory, next to a plain decode and re-encode."""
    import tempfile

    from PIL import Image

    from shared.providers import local_recolour

    def plain() -> None:
        with Image.open(io.BytesIO(data)) as image:
            image.convert("RGB").save(io.BytesIO(), "JPEG", quality=90)

    provider = local_recolour.local()
    times = _timed(lambda: provider.recolour(image=data, hex_colour="#3b6e8f", surfaces=["walls"]))
    baseline = _timed(plain)
    with tempfile.NamedTemporaryFile(suffix=".jpg") as handle:
        handle.write(data)
        handle.flush()
        preview_memory, plain_memory = _memory(Path(handle.name), "preview"), _memory(Path(handle.name), "plain")
    return {
        "local_preview_p50_ms": _percentile(times, 0.5),
        "local_preview_p95_ms": _percentile(times, 0.95),
        "baseline_plain_decode_encode_p95_ms": _percentile(baseline, 0.95),
        "local_preview_vs_baseline_p95": round(_percentile(times, 0.95) / _percentile(baseline, 0.95), 2),
        "local_preview_peak_mb": preview_memory["peak_mb"],
        "local_preview_added_mb": preview_memory["added_mb"],
        "baseline_plain_decode_encode_added_mb": plain_memory["added_mb"],
    }


def measure_webhook_to_drafts(data: bytes) -> dict[str, Any]:
    """Webhook of a 10-minute call to its draft rooms through a dev host: media_voice.py in its own process
    (its own database, Azurite and host), its JSON figures here under `voice_`."""
    script = Path(__file__).resolve().parent / "media_voice.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=900)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {f"voice_{name}": value for name, value in figures.items() if name != "benchmark"}


MEASURES: list[Callable[[bytes], dict[str, Any]]] = [
    measure_commit_to_thumbnail,
    measure_local_preview,
    measure_webhook_to_drafts,
]


def main() -> int:
    """Start the services, run every measure, print the figures; the last line is JSON."""
    with harness.services("bench_media", log_level="WARNING"):
        data = photo_12mp()
        figures: dict[str, Any] = {"benchmark": "estimates_media", "runs": RUNS}
        for measure in MEASURES:
            figures.update(measure(data))
    figures["targets"] = TARGETS
    figures["local_preview_meets_target"] = figures["local_preview_p95_ms"] < TARGETS["local_preview_p95_ms"]
    figures["load_average_1m"] = harness.load_average_1m()
    figures["cpus"] = os.cpu_count()
    print(
        f"12-MP JPEG ({figures['photo_mb']} MB): commit to thumbnails p95 {figures['commit_to_thumbnail_p95_ms']} ms "
        f"(plain decode+resize {figures['baseline_plain_decode_resize_p95_ms']} ms); local preview p95 "
        f"{figures['local_preview_p95_ms']} ms (plain decode+encode {figures['baseline_plain_decode_encode_p95_ms']} "
        f"ms), peak {figures['local_preview_peak_mb']} MB"
    )
    harness.print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
