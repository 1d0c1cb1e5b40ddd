"""Pricebook triggers: connection, pulls and pushes (Durable), browsing, local edits, conflicts, images, pricing."""

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any

import azure.durable_functions as df
import azure.functions as func

from blueprints.pricebook import schemas
from blueprints.pricebook.starters import durable_starter
from shared import lazy
from shared.errors import NotFound
from shared.etag import if_match, with_etag
from shared.http import Response, Router, UserRequest
from shared.triggers import activity

if TYPE_CHECKING:
    from blueprints.pricebook import service
    from shared.jobs import for_each_tenant
    from shared.runtime import ensure_started
else:  # loaded on first use (shared/lazy.py): indexing needs only the schemas and the starters
    service = lazy.module("blueprints.pricebook.service")
    for_each_tenant = lazy.function("shared.jobs", "for_each_tenant")
    ensure_started = lazy.function("shared.runtime", "ensure_started")

bp = df.Blueprint()
api = Router(bp, module="pricebook", feature="pricebook")
log = logging.getLogger("tradeops.pricebook")

# Orchestrators and activities (their function names).
PULL = "pricebook_pull"
PUSH = "pricebook_push"
PULL_BEGIN = "pricebook_pull_begin"
PULL_PAGE = "pricebook_pull_page"
PULL_KIND_DONE = "pricebook_pull_kind_done"
RUN_FINISH = "pricebook_run_finish"
PUSH_PLAN = "pricebook_push_plan"
PUSH_ITEM = "pricebook_push_item"
PUSH_NEW = "pricebook_push_new"
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=4)
NIGHTLY = "0 0 7 * * *"  # 07:00 UTC: the night in North America
ITEM_KINDS = ("materials", "services", "equipment")
KIND_ROUTE = "v1/pricebook/{kind}"


def _st_id(req: UserRequest[Any, Any]) -> int:
    value = req.route_params.get("st_id", "")
    if not value.isdigit() or len(value) > 18:
        raise NotFound("No such item")
    return int(value)


def _fail_run(start_input: dict[str, Any], error: str) -> None:
    service.finish_run(uuid.UUID(start_input["tenant_id"]), uuid.UUID(start_input["run_id"]), error)


# --- connection ----------------------------------------------------------------------------------------------


@api.put(
    "v1/pricebook/connection",
    permission="pricebook.connect",
    body=schemas.ConnectionIn,
    response=schemas.ConnectionOut,
    responses={422: "ServiceTitan refused the credentials or could not be reached"},
    summary="Connect the business's ServiceTitan account (tested on save; the secret is never shown again)",
)
def put_connection(req: UserRequest[schemas.ConnectionIn, None]) -> schemas.ConnectionOut:
    """Save the connection."""
    return service.put_connection(**req.writes, connection_in=req.body)


@api.get(
    "v1/pricebook/connection",
    permission="pricebook.read",
    response=schemas.ConnectionOut,
    summary="The ServiceTitan connection's status and the last sync",
)
def get_connection(req: UserRequest) -> schemas.ConnectionOut:
    """Read the connection."""
    return service.get_connection(**req.reads)


@api.delete("v1/pricebook/connection", permission="pricebook.connect", summary="Disconnect ServiceTitan")
def delete_connection(req: UserRequest) -> None:
    """Forget the credentials."""
    service.delete_connection(**req.writes)


# --- pulls and pushes ----------------------------------------------------------------------------------------------


@durable_starter(
    api,
    "v1/pricebook/syncs",
    orchestrator=PULL,
    permission="pricebook.sync",
    body=schemas.SyncIn,
    response=schemas.SyncOut,
    on_start_failure=_fail_run,
    responses={409: "Not connected, or a pull is already running (running_id names it)"},
    summary="Pull from ServiceTitan (full or incremental); 202 with the sync to watch",
)
def start_sync(req: UserRequest[schemas.SyncIn, None]) -> tuple[schemas.SyncOut, dict[str, Any]]:
    """Record a pull; the starter then starts its orchestration."""
    return service.start_sync(**req.writes, sync_in=req.body)


@durable_starter(
    api,
    "v1/pricebook/pushes",
    orchestrator=PUSH,
    permission="pricebook.push",
    body=schemas.PushIn,
    response=schemas.SyncOut,
    on_start_failure=_fail_run,
    responses={409: "Not connected, or a push is already running (running_id names it)"},
    summary="Push every pending local edit and new item to ServiceTitan; 202 with the push to watch",
)
def start_push(req: UserRequest[schemas.PushIn, None]) -> tuple[schemas.SyncOut, dict[str, Any]]:
    """Record a push; the starter then starts its orchestration."""
    return service.start_push(**req.writes, push_in=req.body)


@api.get(
    "v1/pricebook/syncs/{run_id}",
    permission="pricebook.read",
    response=schemas.SyncOut,
    summary="A pull's or push's status and progress per kind",
)
def get_sync(req: UserRequest) -> schemas.SyncOut:
    """Watch a run."""
    return service.get_sync(**req.reads, run_id=req.uuid_param("run_id"))


@bp.orchestration_trigger(context_name="context")
def pricebook_pull(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Each kind's export feed page by page into raw and master, then the run's outcome."""
    job: dict[str, Any] = context.get_input()  # type: ignore[assignment]
    progress: dict[str, dict[str, int]] = {}
    try:
        tokens = yield context.call_activity(PULL_BEGIN, job)
        for kind in job["kinds"]:
            token, counts = tokens.get(kind), {"pages": 0, "received": 0}
            progress[kind] = counts
            while True:
                page = yield context.call_activity_with_retry(PULL_PAGE, RETRY, {**job, "kind": kind, "token": token})
                counts["pages"] += 1
                counts["received"] += page["received"]
                context.set_custom_status({"kind": kind, "progress": progress})
                if not page["has_more"] or page["continue_from"] == token:
                    break
                token = page["continue_from"]
            yield context.call_activity(PULL_KIND_DONE, {**job, "kind": kind})
    except Exception as error:
        yield context.call_activity(RUN_FINISH, {**job, "error": str(error).split("\n")[0][:500]})
        return {"status": "failed", "progress": progress}
    status = yield context.call_activity(RUN_FINISH, {**job, "error": None})
    context.set_custom_status({"kind": None, "progress": progress})
    return {"status": status, "progress": progress}


@bp.orchestration_trigger(context_name="context")
def pricebook_push(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Every pending edit merged and PATCHed one by one, new items POSTed, then the run's outcome."""
    job: dict[str, Any] = context.get_input()  # type: ignore[assignment]
    outcomes: dict[str, int] = {}
    try:
        work = yield context.call_activity(PUSH_PLAN, job)
        total = len(work["edits"]) + len(work["new"])
        for kind, st_id in work["edits"]:
            done = yield context.call_activity_with_retry(PUSH_ITEM, RETRY, {**job, "kind": kind, "st_id": st_id})
            outcomes[done["outcome"]] = outcomes.get(done["outcome"], 0) + 1
            context.set_custom_status({"total": total, "outcomes": outcomes})
        for new_id in work["new"]:
            done = yield context.call_activity_with_retry(PUSH_NEW, RETRY, {**job, "new_id": new_id})
            outcomes[done["outcome"]] = outcomes.get(done["outcome"], 0) + 1
            context.set_custom_status({"total": total, "outcomes": outcomes})
    except Exception as error:
        yield context.call_activity(RUN_FINISH, {**job, "error": str(error).split("\n")[0][:500]})
        return {"status": "failed", "outcomes": outcomes}
    status = yield context.call_activity(RUN_FINISH, {**job, "error": None})
    return {"status": status, "outcomes": outcomes}


def _ids(job: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID]:
    ensure_started()
    return uuid.UUID(job["tenant_id"]), uuid.UUID(job["run_id"])


@activity(bp)
def pricebook_pull_begin(job: dict[str, Any]) -> dict[str, str | None]:
    """Mark the pull running; each feed's starting token."""
    return service.begin_pull(*_ids(job))


@activity(bp)
def pricebook_pull_page(job: dict[str, Any]) -> dict[str, Any]:
    """One export page into raw and master."""
    return service.pull_page(*_ids(job), job["kind"], job.get("token"))


@activity(bp)
def pricebook_pull_kind_done(job: dict[str, Any]) -> None:
    """A feed is caught up (categories: paths recomputed)."""
    service.finish_kind(*_ids(job), job["kind"])


@activity(bp)
def pricebook_run_finish(job: dict[str, Any]) -> str:
    """Record the run's outcome."""
    return service.finish_run(*_ids(job), job.get("error"))


@activity(bp)
def pricebook_push_plan(job: dict[str, Any]) -> dict[str, list[Any]]:
    """Mark the push running; what it will push."""
    return service.plan_push(*_ids(job))


@activity(bp)
def pricebook_push_item(job: dict[str, Any]) -> dict[str, Any]:
    """One edit merged and PATCHed."""
    return service.push_item(*_ids(job), job["kind"], int(job["st_id"]))


@activity(bp)
def pricebook_push_new(job: dict[str, Any]) -> dict[str, Any]:
    """One new item POSTed and linked."""
    return service.push_new(*_ids(job), uuid.UUID(job["new_id"]))


@bp.timer_trigger(schedule=NIGHTLY, arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def pricebook_nightly(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """An incremental pull for every connected business; one business's failure never stops another."""
    ensure_started()
    run = await asyncio.to_thread(for_each_tenant, service.nightly_run, name="pricebook_nightly")
    started = 0
    for start in run.results.values():
        if not start:
            continue
        try:
            await client.start_new(PULL, start["run_id"], start)
            started += 1
        except Exception:
            log.exception("pricebook_nightly could not start a pull")
            await asyncio.to_thread(_fail_run, start, "nightly start failed")
    log.info("pricebook_nightly: %s pulls started, %s businesses failed", started, len(run.failed))


# --- browsing and local edits -----------------------------------------------------------------------------------


@api.get(
    "v1/pricebook/categories",
    permission="pricebook.read",
    query=schemas.ItemQuery,
    response=schemas.CategoryList,
    summary="Categories: search by name, a subtree (category_id), active filter, cursor pages",
)
def list_categories(req: UserRequest[None, schemas.ItemQuery]) -> schemas.CategoryList:
    """Browse categories."""
    return service.list_categories(**req.reads, query=req.query)


def _item_routes(kind: str) -> None:
    """The list, read, edit and create routes of one item kind."""
    base = f"v1/pricebook/{kind}"

    def list_items(req: UserRequest[None, schemas.ItemQuery]) -> schemas.ItemList:
        return service.list_items(**req.reads, kind=kind, query=req.query)

    def get_item(req: UserRequest) -> Response:
        out, version = service.get_item(**req.reads, kind=kind, st_id=_st_id(req))
        return with_etag(out, version)

    def update_item(req: UserRequest[schemas.ItemPatch, None]) -> Response:
        st_id, expected = _st_id(req), if_match(req)
        out, version = service.update_item(**req.writes, kind=kind, st_id=st_id, patch=req.body, expected=expected)
        return with_etag(out, version)

    def create_item(req: UserRequest[schemas.NewItemIn, None]) -> schemas.NewItemOut:
        return service.create_item(**req.writes, kind=kind, item_in=req.body)

    item = base + "/{st_id}"
    name = f"pricebook_{{}}_{kind}".format
    api.get(
        base,
        name=name("list_items"),
        permission="pricebook.read",
        query=schemas.ItemQuery,
        response=schemas.ItemList,
        summary=f"{kind}: search code, name and description, a category subtree, active filter, cursor pages",
    )(list_items)
    api.get(
        item,
        name=name("get_item"),
        permission="pricebook.read",
        response=schemas.ItemOut,
        summary=f"One of the {kind}: effective values and which fields are local",
    )(get_item)
    api.patch(
        item,
        name=name("update_item"),
        permission="pricebook.edit",
        body=schemas.ItemPatch,
        response=schemas.ItemOut,
        summary=f"Change one of the {kind} locally, pending push (If-Match required)",
    )(update_item)
    api.post(
        base,
        name=name("create_item"),
        permission="pricebook.edit",
        body=schemas.NewItemIn,
        response=schemas.NewItemOut,
        summary=f"A new one of the {kind}, POSTed to ServiceTitan on the next push",
    )(create_item)


for _kind in ITEM_KINDS:
    _item_routes(_kind)


# --- pricing ---------------------------------------------------------------------------------------------------


@api.get(
    "v1/pricebook/pricing",
    permission="pricing.read",
    response=schemas.PricingOut,
    summary="Technicians, vehicles, expense items, markup tiers, profit, and the hourly billable rate",
)
def get_pricing(req: UserRequest) -> schemas.PricingOut:
    """Read the pricing inputs."""
    return service.get_pricing(**req.reads)


@api.put(
    "v1/pricebook/pricing",
    permission="pricing.manage",
    body=schemas.PricingIn,
    response=schemas.PricingOut,
    summary="Replace the pricing inputs (tiers from 0, no gaps, the last open-ended)",
)
def put_pricing(req: UserRequest[schemas.PricingIn, None]) -> schemas.PricingOut:
    """Replace the pricing inputs."""
    return service.put_pricing(**req.writes, pricing_in=req.body)


@api.get(
    "v1/pricebook/services/{st_id}/suggested-price",
    permission="pricing.read",
    response=schemas.SuggestedPrice,
    summary="A service's suggested price: hours × rate + Σ materials × tier multiplier, each term shown",
)
def suggested_price(req: UserRequest) -> schemas.SuggestedPrice:
    """Explain a service's suggested price."""
    return service.suggested_price(**req.reads, st_id=_st_id(req))


@api.get(
    "v1/pricebook/pricing/drift",
    permission="pricing.read",
    query=schemas.DriftQuery,
    response=schemas.DriftList,
    summary="Services whose ServiceTitan price is more than threshold_percent from the suggestion",
)
def drift_report(req: UserRequest[None, schemas.DriftQuery]) -> schemas.DriftList:
    """The drift report."""
    return service.drift_report(**req.reads, query=req.query)


# --- conflicts and images ----------------------------------------------------------------------------------------


@api.get(
    "v1/pricebook/conflicts",
    permission="pricebook.read",
    query=schemas.ConflictQuery,
    response=schemas.ConflictList,
    summary="Fields changed here and in ServiceTitan: both values and the last synced one",
)
def list_conflicts(req: UserRequest[None, schemas.ConflictQuery]) -> schemas.ConflictList:
    """List conflicts."""
    return service.list_conflicts(**req.reads, query=req.query)


@api.post(
    "v1/pricebook/conflicts/{conflict_id}/resolution",
    permission="pricebook.edit",
    body=schemas.ResolutionIn,
    response=schemas.ConflictOut,
    status=200,
    responses={409: "Already resolved"},
    summary="Resolve a conflict: take local, remote, or a value (local and value are pushed next time)",
)
def resolve_conflict(req: UserRequest[schemas.ResolutionIn, None]) -> schemas.ConflictOut:
    """Resolve a conflict."""
    return service.resolve_conflict(**req.writes, conflict_id=req.uuid_param("conflict_id"), resolution=req.body)


@api.get(
    "v1/pricebook/images/{kind}/{st_id}",
    permission="pricebook.read",
    content_type="application/octet-stream",
    responses={304: "Not modified (If-None-Match)"},
    summary="An item's image (cached here after the first fetch from ServiceTitan)",
)
def get_image(req: UserRequest) -> Response:
    """Serve an image with its ETag."""
    kind = req.route_params.get("kind", "")
    if kind not in ("categories", *ITEM_KINDS):
        raise NotFound("No such kind")
    image = service.get_image(**req.reads, kind=kind, st_id=_st_id(req))
    headers = {"ETag": image.etag, "Cache-Control": service.IMAGE_CACHE_CONTROL}
    if image.etag in (req.headers.get("if-none-match") or ""):
        return Response(status=304, headers=headers)
    return Response(image.data, headers=headers, content_type=image.content_type)
