"""Every schema builds: shared.schema defers building to first use, so a broken model must fail here, not on
the first request that happens to use it in production."""

from __future__ import annotations

import pydantic
import pytest

import function_app  # noqa: F401 - imports every module's schemas
from shared.schema import BaseModel


def _subclasses(cls: type) -> list[type]:
    found: list[type] = []
    pending = list(cls.__subclasses__())
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return found


def _ours(model: type) -> bool:
    return model.__module__.startswith(("blueprints.", "shared.")) and "[" not in model.__name__


MODELS = sorted(
    {model for model in _subclasses(BaseModel) if _ours(model)}, key=lambda m: (m.__module__, m.__qualname__)
)


def test_the_schemas_modules_use_the_deferred_base() -> None:
    modules = {model.__module__ for model in MODELS}
    for name in ("shop", "crm", "identity", "messaging", "estimates", "bids", "pricebook", "configurator", "ops"):
        assert f"blueprints.{name}.schemas" in modules
    assert len(MODELS) > 100


def test_nothing_is_built_at_import() -> None:
    # The point of the base: importing the app left (most) models unbuilt. A fresh interpreter would be the
    # strict check; here other tests may already have used some, so ask only that the base itself defers.
    assert BaseModel.model_config.get("defer_build") is True
    assert all(model.model_config.get("defer_build") is True for model in MODELS)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: f"{model.__module__}.{model.__qualname__}")
def test_each_schema_builds(model: type[pydantic.BaseModel]) -> None:
    model.model_rebuild()
    assert model.__pydantic_complete__, f"{model.__qualname__} could not be built"
    model.model_json_schema()
