"""Worker configuration, read from environment variables only."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from render_container.contract import CONTROL_CONTAINER, JOBS_QUEUE, RESULTS_QUEUE


def _alias(env_name: str, field_name: str) -> AliasChoices:
    # Accept the Azure env var name and the Python field name (tests build settings by field name).
    return AliasChoices(env_name, field_name)


class RenderSettings(BaseSettings):
    """Everything the render worker needs; the container reaches only Azure Storage."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", populate_by_name=True)

    storage_connection_string: str | None = Field(
        default=None, repr=False, validation_alias=_alias("AzureWebJobsStorage", "storage_connection_string")
    )
    storage_account_name: str | None = Field(
        default=None, validation_alias=_alias("AzureWebJobsStorage__accountName", "storage_account_name")
    )
    # Client id of the job's user-assigned managed identity (unset: az login or another DefaultAzureCredential source).
    azure_client_id: str | None = Field(default=None, validation_alias=_alias("AZURE_CLIENT_ID", "azure_client_id"))
    jobs_queue: str = Field(default=JOBS_QUEUE, validation_alias=_alias("RENDER_JOBS_QUEUE", "jobs_queue"))
    results_queue: str = Field(default=RESULTS_QUEUE, validation_alias=_alias("RENDER_RESULTS_QUEUE", "results_queue"))
    control_container: str = Field(
        default=CONTROL_CONTAINER, validation_alias=_alias("RENDER_CONTROL_CONTAINER", "control_container")
    )
    template_cache_dir: Path = Field(
        default=Path(tempfile.gettempdir()) / "tradeops-render-templates",
        validation_alias=_alias("TEMPLATE_CACHE_DIR", "template_cache_dir"),
    )
    visibility_seconds: int = Field(
        default=60, ge=1, le=7 * 24 * 3600, validation_alias=_alias("RENDER_VISIBILITY_SECONDS", "visibility_seconds")
    )
    # Load-testing knob: pads every render to at least this long (0 in production).
    min_render_seconds: float = Field(
        default=0.0, ge=0, le=3600, validation_alias=_alias("RENDER_MIN_SECONDS", "min_render_seconds")
    )
    # Set in Azure (identity-authenticated): the worker's spans and render durations go to Application Insights.
    applicationinsights_connection_string: str | None = Field(
        default=None,
        repr=False,
        validation_alias=_alias("APPLICATIONINSIGHTS_CONNECTION_STRING", "applicationinsights_connection_string"),
    )
    max_dequeue_count: int = Field(
        default=5, ge=1, validation_alias=_alias("RENDER_MAX_DEQUEUE_COUNT", "max_dequeue_count")
    )

    @model_validator(mode="after")
    def _require_storage(self) -> RenderSettings:
        if not self.storage_connection_string and not self.storage_account_name:
            raise ValueError("set AzureWebJobsStorage or AzureWebJobsStorage__accountName")
        return self

    @property
    def poison_queue(self) -> str:
        """Queue that receives messages the worker can never process."""
        return f"{self.jobs_queue}-poison"
