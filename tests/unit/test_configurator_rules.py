"""Configurator rules without I/O: the canonical hash, the price rule, schema validation paths, job transitions."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.configurator import pricing, validation
from blueprints.configurator.transitions import JobStatus, decide, is_stale, may_cancel, retry_delay
from render_container.contract import RenderResult, RenderStatus
from render_container.templates.products import BASE_CABINET
from shared.errors import Unprocessable

CABINET = BASE_CABINET.json_schema()
GOOD = BASE_CABINET.default_config()


# --- canonical configuration and its hash ----------------------------------------------------------


def test_hash_ignores_key_order_and_integral_floats() -> None:
    a = {"width": 600, "finish": "white", "nested": {"b": 1, "a": [1.0, 2]}}
    b = {"nested": {"a": [1, 2.0], "b": 1.0}, "finish": "white", "width": 600.0}
    assert validation.config_hash(a) == validation.config_hash(b)
    assert validation.canonical_json(a) == '{"finish":"white","nested":{"a":[1,2],"b":1},"width":600}'


def test_hash_changes_with_any_value() -> None:
    assert validation.config_hash({"width": 600}) != validation.config_hash({"width": 600.5})
    assert validation.config_hash({"flag": True}) != validation.config_hash({"flag": 1})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_hash_is_stable_through_a_json_round_trip_and_reordering(config: dict) -> None:
    reordered = dict(reversed(list(json.loads(json.dumps(config)).items())))
    assert validation.config_hash(config) == validation.config_hash(reordered)
    assert len(validation.config_hash(config)) == 64


# --- schema checks on save -------------------------------------------------------------------------


def test_sample_schemas_are_valid_options_schemas() -> None:
    assert validation.schema_errors(CABINET) == []


def test_a_broken_schema_lists_every_problem_with_its_path() -> None:
    broken = {"type": "object", "properties": {"width": {"type": "lenght", "minimum": "ten"}}}
    errors = validation.schema_errors(broken)
    assert [e["path"] for e in errors] == sorted(e["path"] for e in errors)
    paths = {e["path"] for e in errors}
    assert "$.properties.width.minimum" in paths
    assert any(p.startswith("$.properties.width.type") for p in paths)
    with pytest.raises(Unprocessable) as caught:
        validation.check_schema(broken)
    assert caught.value.code == "invalid_config_schema"


@pytest.mark.parametrize(
    ("schema", "kind"),
    [
        ({"type": "array"}, "schema.type"),
        ([1, 2], "schema.type"),
        ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}, "schema.dialect"),
        ({"type": "object", "properties": {"a": {"$ref": "https://example.invalid/x.json"}}}, "schema.unusable"),
    ],
)
def test_schemas_we_cannot_use_are_refused(schema: object, kind: str) -> None:
    assert kind in {e["type"] for e in validation.schema_errors(schema)}


# --- configurations against a product schema --------------------------------------------------------


def test_a_valid_configuration_has_no_errors() -> None:
    assert validation.config_errors(CABINET, GOOD) == []


def test_every_violation_is_listed_with_its_json_path_sorted() -> None:
    bad = GOOD | {"width": 5000, "door_count": "two", "finish": "purple", "colour": "red"}
    errors = validation.config_errors(CABINET, bad)
    assert [(e["path"], e["type"]) for e in errors] == [
        ("$.colour", "schema.unknown_option"),
        ("$.door_count", "schema.type"),
        ("$.finish", "schema.enum"),
        ("$.width", "schema.maximum"),
    ]
    assert errors[0]["loc"] == "body.config_data.colour"


def test_missing_options_are_named() -> None:
    errors = validation.config_errors(CABINET, {"width": 600})
    assert {e["type"] for e in errors} == {"schema.required"}
    assert len(errors) == 6


def test_odd_keys_get_bracketed_paths() -> None:
    errors = validation.config_errors(CABINET, GOOD | {"two words": 1})
    assert errors[0]["path"] == '$["two words"]'


# --- the price rule --------------------------------------------------------------------------------

RULE = pricing.PriceRule(
    currency="USD",
    base_cents=45_000,
    option_adders={"finish": {"walnut": 12_000}, "door_style": {"raised": 4_500}},
    dimension_rates={
        "width": pricing.DimensionRate(cents_per_unit=2_500, unit=100, included=600),
        "door_count": pricing.DimensionRate(cents_per_unit=3_000, unit=1, included=1),
    },
)


def test_base_adders_and_rates_add_up_in_cents() -> None:
    price = pricing.price(RULE, GOOD | {"width": 750, "finish": "walnut", "door_count": 3})
    assert price.currency == "USD"
    # 450.00 + walnut 120.00 + width 2 started 100 mm units 50.00 + 2 doors above 1 60.00
    assert price.amount_cents == 45_000 + 12_000 + 5_000 + 6_000
    assert price.amount_cents == sum(line.amount_cents for line in price.lines)


def test_defaults_cost_only_what_is_above_the_included_size() -> None:
    price = pricing.price(RULE, GOOD)  # width 600 included, 2 doors
    assert price.amount_cents == 45_000 + 3_000


def test_rule_naming_unknown_options_is_reported() -> None:
    rule = pricing.PriceRule(base_cents=1, option_adders={"colour": {"red": 5}})
    assert [e["path"] for e in pricing.rule_errors(rule, CABINET)] == ["$.option_adders.colour"]


@given(st.floats(300, 1200), st.floats(300, 1200), st.integers(1, 4))
def test_price_never_falls_as_the_cabinet_grows(w1: float, w2: float, doors: int) -> None:
    small, large = sorted((w1, w2))
    low = pricing.price(RULE, GOOD | {"width": small, "door_count": doors}).amount_cents
    high = pricing.price(RULE, GOOD | {"width": large, "door_count": doors}).amount_cents
    assert low <= high
    assert isinstance(low, int)


# --- render job transitions ------------------------------------------------------------------------


def _result(status: RenderStatus, **fields: object) -> RenderResult:
    return RenderResult(
        job_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        status=status,
        progress=int(fields.pop("progress", 0)),
        worker_attempt=1,
        **fields,
    )  # type: ignore[arg-type]


def test_recoverable_failures_retry_after_1_2_4_seconds_then_fail() -> None:
    failure = _result(RenderStatus.FAILED, error_code="render_error", recoverable=True)
    delays = [decide(JobStatus.PROCESSING, failure, retry_count=n, max_retries=3).retry_delay_seconds for n in range(3)]
    assert delays == [1, 2, 4]
    assert decide(JobStatus.PROCESSING, failure, retry_count=0, max_retries=3).status is JobStatus.PENDING
    assert decide(JobStatus.PROCESSING, failure, retry_count=3, max_retries=3).status is JobStatus.FAILED
    assert retry_delay(2, base_seconds=3) == 12


@pytest.mark.parametrize("code", ["invalid_config", "template_missing", "poisoned"])
def test_permanent_failures_fail_at_once(code: str) -> None:
    failure = _result(RenderStatus.FAILED, error_code=code, recoverable=True)
    assert decide(JobStatus.QUEUED, failure, retry_count=0, max_retries=3).status is JobStatus.FAILED


@pytest.mark.parametrize("terminal", [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED])
@pytest.mark.parametrize("report", list(RenderStatus))
def test_a_terminal_job_never_moves(terminal: JobStatus, report: RenderStatus) -> None:
    assert decide(terminal, _result(report), retry_count=0, max_retries=3).status is None


def test_a_glb_for_a_cancelled_job_is_discarded_unless_it_was_already_cached() -> None:
    assert decide(
        JobStatus.CANCELLED, _result(RenderStatus.COMPLETED, progress=100), retry_count=0, max_retries=3
    ).discard_output
    assert not decide(
        JobStatus.CANCELLED, _result(RenderStatus.COMPLETED, progress=100, cached=True), retry_count=0, max_retries=3
    ).discard_output


def test_worker_reports_move_an_active_job_forward() -> None:
    assert (
        decide(JobStatus.QUEUED, _result(RenderStatus.PROCESSING, progress=40), retry_count=0, max_retries=3).status
        is JobStatus.PROCESSING
    )
    assert (
        decide(JobStatus.PROCESSING, _result(RenderStatus.COMPLETED, progress=100), retry_count=0, max_retries=3).status
        is JobStatus.COMPLETED
    )
    assert (
        decide(JobStatus.PENDING, _result(RenderStatus.CANCELLED), retry_count=0, max_retries=3).status
        is JobStatus.CANCELLED
    )


def test_a_report_on_an_attempt_already_counted_changes_nothing() -> None:
    failure = {"error_code": "render_error", "recoverable": True}
    # attempt 1 failed and was counted (retry_count 1): its copies, and its late progress, are stale
    for report in (_result(RenderStatus.FAILED, attempt=1, **failure), _result(RenderStatus.PROCESSING, attempt=1)):
        assert is_stale(report, retry_count=1)
        assert decide(JobStatus.QUEUED, report, retry_count=1, max_retries=3).status is None
    # attempt 2's own reports move the job
    second = _result(RenderStatus.FAILED, attempt=2, **failure)
    assert not is_stale(second, retry_count=1)
    assert decide(JobStatus.PROCESSING, second, retry_count=1, max_retries=3).status is JobStatus.PENDING


def test_a_report_without_an_attempt_is_taken_as_the_current_attempt() -> None:
    legacy = _result(RenderStatus.FAILED, error_code="render_error", recoverable=True)
    assert legacy.attempt is None and not is_stale(legacy, retry_count=2)
    assert decide(JobStatus.PROCESSING, legacy, retry_count=2, max_retries=3).status is JobStatus.PENDING


def test_only_unfinished_jobs_can_be_cancelled() -> None:
    assert [s for s in JobStatus if may_cancel(s)] == [JobStatus.PENDING, JobStatus.QUEUED, JobStatus.PROCESSING]


# --- properties ------------------------------------------------------------------------------------

cabinets = st.fixed_dictionaries(
    {
        "width": st.floats(300, 1200),
        "height": st.floats(700, 1000),
        "depth": st.floats(300, 700),
        "door_count": st.integers(1, 4),
        "door_style": st.sampled_from(["shaker", "slab", "raised"]),
        "finish": st.sampled_from(["white", "walnut", "graphite"]),
        "hardware": st.sampled_from(["bar", "knob", "none"]),
    }
)


@given(cabinets, st.one_of(st.floats(-1e6, 299.99), st.floats(1200.01, 1e6)))
def test_in_range_cabinets_pass_and_an_out_of_range_width_is_named(config: dict, width: float) -> None:
    assert validation.config_errors(CABINET, config) == []
    errors = validation.config_errors(CABINET, config | {"width": width})
    expected = "schema.minimum" if width < 300 else "schema.maximum"
    assert [(e["path"], e["type"]) for e in errors] == [("$.width", expected)]


reports = st.builds(
    lambda status, code, recoverable: _result(
        status, error_code=code, recoverable=recoverable, progress=100 if status is RenderStatus.COMPLETED else 0
    ),
    st.sampled_from(list(RenderStatus)),
    st.sampled_from([None, "render_error", "invalid_config"]),
    st.booleans(),
)


@given(st.lists(reports, max_size=12))
def test_any_report_sequence_retries_at_most_max_and_never_leaves_a_final_state(sequence: list) -> None:
    status, retries = JobStatus.QUEUED, 0
    for report in sequence:
        decision = decide(status, report, retry_count=retries, max_retries=3)
        if status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
            assert decision.status is None
        if decision.retry_delay_seconds is not None:
            assert decision.retry_delay_seconds == 2**retries
            retries += 1
        status = decision.status or status
    assert retries <= 3


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 20)), max_size=24))
def test_each_attempt_failure_counts_once_however_often_and_late_its_copies_come(events: list) -> None:
    """The worker fails the current attempt (fresh) or a copy of an earlier report is delivered again."""
    status, retries, posted = JobStatus.QUEUED, 0, []
    for fresh, pick in events:
        if fresh or not posted:
            posted.append(retries + 1)
            attempt = retries + 1
        else:
            attempt = posted[pick % len(posted)]
        report = _result(RenderStatus.FAILED, error_code="render_error", recoverable=True, attempt=attempt)
        decision = decide(status, report, retry_count=retries, max_retries=3)
        if decision.retry_delay_seconds is not None:
            retries += 1
        status = decision.status or status
    assert retries == min(len(set(posted)), 3)
    assert (status is JobStatus.FAILED) == (len(set(posted)) > 3)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e400"])
def test_non_finite_numbers_are_refused_before_they_reach_the_database(number: str) -> None:
    from pydantic import ValidationError

    from blueprints.configurator.schemas import ConfigurationIn

    body = json.loads(f'{{"product_id": "{uuid.uuid4()}", "name": "x", "config_data": {{"width": {number}}}}}')
    with pytest.raises(ValidationError, match="not JSON numbers"):
        ConfigurationIn.model_validate(body)
