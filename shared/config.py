"""The one settings object: nothing else in the app reads os.environ."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.secrets import load_secret_overrides

# Values that only ever stand in for a real secret; outside development they refuse to start.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "dev-only-change-me", "secret", "placeholder"})

# Settings that hold secrets; Key Vault supplies them when KEY_VAULT_URL is set.
SECRET_FIELDS: tuple[str, ...] = (
    "jwt_signing_key",
    "twilio_auth_token",
    "smtp_password",
    "inspection_link_signing_key",
    "anthropic_api_key",
    "gemini_api_key",
    "servicetitan_app_key",
    "pricebook_key_encryption_key",
    "elevenlabs_api_key",
    "elevenlabs_webhook_secret",
    "elevenlabs_tool_secret",
)


class BootstrapSettings(BaseSettings):
    """What must be known before secrets are loaded: where the vault is."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", populate_by_name=True)

    key_vault_url: str | None = Field(None, validation_alias=AliasChoices("KEY_VAULT_URL", "key_vault_url"))
    azure_client_id: str | None = Field(None, validation_alias=AliasChoices("AZURE_CLIENT_ID", "azure_client_id"))


class Settings(BaseSettings):
    """Every setting the app reads, from the environment (Azure app settings) or Key Vault."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", populate_by_name=True)

    environment: Literal["development", "test", "production"] = Field(
        "production", validation_alias=AliasChoices("APP_ENV", "environment")
    )
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))

    database_url: str = Field(
        "postgresql+psycopg://tradeops_app@localhost:5432/tradeops",
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
    )
    database_migration_url: str | None = Field(
        None, validation_alias=AliasChoices("DATABASE_MIGRATION_URL", "database_migration_url")
    )
    # "entra": sign in with a Microsoft Entra token of the app's identity instead of a password (Azure).
    database_auth: Literal["password", "entra"] = Field(
        "password", validation_alias=AliasChoices("DATABASE_AUTH", "database_auth")
    )
    db_pool_size: int = Field(3, ge=1, le=50, validation_alias=AliasChoices("DB_POOL_SIZE", "db_pool_size"))
    db_max_overflow: int = Field(2, ge=0, le=50, validation_alias=AliasChoices("DB_MAX_OVERFLOW", "db_max_overflow"))
    db_statement_timeout_ms: int = Field(
        15_000, ge=0, validation_alias=AliasChoices("DB_STATEMENT_TIMEOUT_MS", "db_statement_timeout_ms")
    )

    storage_connection_string: str | None = Field(
        None, validation_alias=AliasChoices("AzureWebJobsStorage", "storage_connection_string")
    )
    storage_account_name: str | None = Field(
        None, validation_alias=AliasChoices("AzureWebJobsStorage__accountName", "storage_account_name")
    )

    key_vault_url: str | None = Field(None, validation_alias=AliasChoices("KEY_VAULT_URL", "key_vault_url"))
    # Client id of the user-assigned managed identity every Azure client signs in as (unset: az login, locally).
    azure_client_id: str | None = Field(None, validation_alias=AliasChoices("AZURE_CLIENT_ID", "azure_client_id"))
    applicationinsights_connection_string: str | None = Field(
        None,
        validation_alias=AliasChoices("APPLICATIONINSIGHTS_CONNECTION_STRING", "applicationinsights_connection_string"),
    )

    public_base_url: str = Field(
        "http://127.0.0.1:7071", validation_alias=AliasChoices("PUBLIC_BASE_URL", "public_base_url")
    )
    client_ip_header: str = Field(
        "client-ip", max_length=64, validation_alias=AliasChoices("CLIENT_IP_HEADER", "client_ip_header")
    )
    forwarded_for_hops: int = Field(
        1, ge=1, le=10, validation_alias=AliasChoices("FORWARDED_FOR_HOPS", "forwarded_for_hops")
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, validation_alias=AliasChoices("MAX_BODY_BYTES", "max_body_bytes"))

    jwt_signing_key: str = Field("", validation_alias=AliasChoices("JWT_SIGNING_KEY", "jwt_signing_key"))
    twilio_account_sid: str = Field("", validation_alias=AliasChoices("TWILIO_ACCOUNT_SID", "twilio_account_sid"))
    twilio_auth_token: str = Field("", validation_alias=AliasChoices("TWILIO_AUTH_TOKEN", "twilio_auth_token"))
    twilio_base_url: str | None = Field(None, validation_alias=AliasChoices("TWILIO_BASE_URL", "twilio_base_url"))
    smtp_password: str = Field("", validation_alias=AliasChoices("SMTP_PASSWORD", "smtp_password"))
    twilio_verify_service_sid: str = Field(
        "", validation_alias=AliasChoices("TWILIO_VERIFY_SERVICE_SID", "twilio_verify_service_sid")
    )

    # messaging: Twilio Messages API and SMTP (Azure Communication Services, SendGrid or any relay)
    twilio_api_base_url: str | None = Field(
        None, validation_alias=AliasChoices("TWILIO_API_BASE_URL", "twilio_api_base_url")
    )
    twilio_timeout_seconds: float = Field(
        15, gt=0, le=60, validation_alias=AliasChoices("TWILIO_TIMEOUT_SECONDS", "twilio_timeout_seconds")
    )
    smtp_host: str = Field("", validation_alias=AliasChoices("SMTP_HOST", "smtp_host"))
    smtp_port: int = Field(587, ge=1, le=65535, validation_alias=AliasChoices("SMTP_PORT", "smtp_port"))
    smtp_username: str = Field("", validation_alias=AliasChoices("SMTP_USERNAME", "smtp_username"))
    smtp_from: str = Field("", validation_alias=AliasChoices("SMTP_FROM", "smtp_from"))
    smtp_tls: Literal["starttls", "tls", "none"] = Field(
        "starttls", validation_alias=AliasChoices("SMTP_TLS", "smtp_tls")
    )
    smtp_ca_file: str | None = Field(None, validation_alias=AliasChoices("SMTP_CA_FILE", "smtp_ca_file"))
    smtp_timeout_seconds: float = Field(
        15, gt=0, le=120, validation_alias=AliasChoices("SMTP_TIMEOUT_SECONDS", "smtp_timeout_seconds")
    )
    messaging_max_attempts: int = Field(
        5, ge=1, le=20, validation_alias=AliasChoices("MESSAGING_MAX_ATTEMPTS", "messaging_max_attempts")
    )
    messaging_retry_base_seconds: int = Field(
        30,
        ge=1,
        le=3600,
        validation_alias=AliasChoices("MESSAGING_RETRY_BASE_SECONDS", "messaging_retry_base_seconds"),
    )
    messaging_send_lease_seconds: int = Field(
        120,
        ge=10,
        le=3600,
        validation_alias=AliasChoices("MESSAGING_SEND_LEASE_SECONDS", "messaging_send_lease_seconds"),
    )
    # an email's attachments together, as downloaded at delivery; more fails the message attachments_too_large
    messaging_max_attachment_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        le=30 * 1024 * 1024,
        validation_alias=AliasChoices("MESSAGING_MAX_ATTACHMENT_BYTES", "messaging_max_attachment_bytes"),
    )

    jwt_issuer: str = Field("tradeops", validation_alias=AliasChoices("JWT_ISSUER", "jwt_issuer"))
    jwt_audience: str = Field("tradeops-api", validation_alias=AliasChoices("JWT_AUDIENCE", "jwt_audience"))
    access_token_ttl_seconds: int = Field(
        900, ge=60, le=3600, validation_alias=AliasChoices("ACCESS_TOKEN_TTL_SECONDS", "access_token_ttl_seconds")
    )
    session_idle_days: int = Field(7, ge=1, validation_alias=AliasChoices("SESSION_IDLE_DAYS", "session_idle_days"))
    session_max_days: int = Field(30, ge=1, validation_alias=AliasChoices("SESSION_MAX_DAYS", "session_max_days"))
    login_failure_limit: int = Field(
        5, ge=1, validation_alias=AliasChoices("LOGIN_FAILURE_LIMIT", "login_failure_limit")
    )
    login_failure_window_seconds: int = Field(
        900, ge=1, validation_alias=AliasChoices("LOGIN_FAILURE_WINDOW_SECONDS", "login_failure_window_seconds")
    )
    otp_sends_per_phone: int = Field(
        3, ge=1, le=4, validation_alias=AliasChoices("OTP_SENDS_PER_PHONE", "otp_sends_per_phone")
    )
    otp_sends_per_ip: int = Field(10, ge=1, validation_alias=AliasChoices("OTP_SENDS_PER_IP", "otp_sends_per_ip"))
    otp_send_window_seconds: int = Field(
        600, ge=600, validation_alias=AliasChoices("OTP_SEND_WINDOW_SECONDS", "otp_send_window_seconds")
    )
    invitation_ttl_hours: int = Field(
        168, ge=1, le=720, validation_alias=AliasChoices("INVITATION_TTL_HOURS", "invitation_ttl_hours")
    )
    password_reset_ttl_minutes: int = Field(
        60, ge=5, le=1440, validation_alias=AliasChoices("PASSWORD_RESET_TTL_MINUTES", "password_reset_ttl_minutes")
    )
    password_resets_per_ip: int = Field(
        5, ge=1, validation_alias=AliasChoices("PASSWORD_RESETS_PER_IP", "password_resets_per_ip")
    )
    password_resets_per_email: int = Field(
        3, ge=1, validation_alias=AliasChoices("PASSWORD_RESETS_PER_EMAIL", "password_resets_per_email")
    )
    registrations_per_ip: int = Field(
        5, ge=1, validation_alias=AliasChoices("REGISTRATIONS_PER_IP", "registrations_per_ip")
    )
    registration_window_seconds: int = Field(
        3600, ge=60, validation_alias=AliasChoices("REGISTRATION_WINDOW_SECONDS", "registration_window_seconds")
    )

    # configurator: render jobs handed to the Blender container
    render_template_container: str = Field(
        "templates",
        min_length=3,
        max_length=63,
        validation_alias=AliasChoices("RENDER_TEMPLATE_CONTAINER", "render_template_container"),
    )
    render_output_container: str = Field(
        "renders",
        min_length=3,
        max_length=63,
        validation_alias=AliasChoices("RENDER_OUTPUT_CONTAINER", "render_output_container"),
    )
    render_control_container: str = Field(
        "render-control",
        min_length=3,
        max_length=63,
        validation_alias=AliasChoices("RENDER_CONTROL_CONTAINER", "render_control_container"),
    )
    render_max_retries: int = Field(
        3, ge=0, le=10, validation_alias=AliasChoices("RENDER_MAX_RETRIES", "render_max_retries")
    )
    render_retry_base_seconds: int = Field(
        1, ge=1, le=3600, validation_alias=AliasChoices("RENDER_RETRY_BASE_SECONDS", "render_retry_base_seconds")
    )
    render_read_url_ttl_seconds: int = Field(
        900,
        ge=60,
        le=86_400,
        validation_alias=AliasChoices("RENDER_READ_URL_TTL_SECONDS", "render_read_url_ttl_seconds"),
    )

    # estimates: proposal PDFs (tenant-prefixed blobs) and how long the estimator's PDF read link lives
    estimate_documents_container: str = Field(
        "documents",
        min_length=3,
        max_length=63,
        validation_alias=AliasChoices("ESTIMATE_DOCUMENTS_CONTAINER", "estimate_documents_container"),
    )
    estimate_pdf_url_ttl_seconds: int = Field(
        900,
        ge=60,
        le=86_400,
        validation_alias=AliasChoices("ESTIMATE_PDF_URL_TTL_SECONDS", "estimate_pdf_url_ttl_seconds"),
    )

    # customer links (shop inspection approvals, estimate proposals) are signed with this key (HMAC-SHA256)
    inspection_link_signing_key: str = Field(
        "", validation_alias=AliasChoices("INSPECTION_LINK_SIGNING_KEY", "inspection_link_signing_key")
    )

    # uploads: straight to Blob by a short-lived write SAS (shared/uploads.py)
    uploads_container: str = Field(
        "uploads", min_length=3, max_length=63, validation_alias=AliasChoices("UPLOADS_CONTAINER", "uploads_container")
    )
    upload_cors_origins: str = Field(
        "http://localhost:5173,http://127.0.0.1:5173",
        validation_alias=AliasChoices("UPLOAD_CORS_ORIGINS", "upload_cors_origins"),
    )

    # estimates photos and colour previews (issue 14): originals, thumbnails and previews in one container
    estimate_photos_container: str = Field(
        "photos",
        min_length=3,
        max_length=63,
        validation_alias=AliasChoices("ESTIMATE_PHOTOS_CONTAINER", "estimate_photos_container"),
    )
    previews_per_tenant_day: int = Field(
        50, ge=0, validation_alias=AliasChoices("PREVIEWS_PER_TENANT_DAY", "previews_per_tenant_day")
    )
    preview_max_attempts: int = Field(
        5, ge=1, le=20, validation_alias=AliasChoices("PREVIEW_MAX_ATTEMPTS", "preview_max_attempts")
    )

    # bids: plan sets in, fixtures found (Claude's vision API for pages without text, when a key is set)
    anthropic_api_key: str = Field("", validation_alias=AliasChoices("ANTHROPIC_API_KEY", "anthropic_api_key"))
    anthropic_base_url: str | None = Field(
        None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "anthropic_base_url")
    )
    anthropic_timeout_seconds: float = Field(
        120, gt=0, le=600, validation_alias=AliasChoices("ANTHROPIC_TIMEOUT_SECONDS", "anthropic_timeout_seconds")
    )
    anthropic_max_attempts: int = Field(
        4, ge=1, le=10, validation_alias=AliasChoices("ANTHROPIC_MAX_ATTEMPTS", "anthropic_max_attempts")
    )
    # estimates: AI colour previews of photos (Gemini's image editing when a key is set; else the local recolouring)
    gemini_api_key: str = Field("", validation_alias=AliasChoices("GEMINI_API_KEY", "gemini_api_key"))
    gemini_image_model: str = Field(
        "gemini-3-pro-image-preview", validation_alias=AliasChoices("GEMINI_IMAGE_MODEL", "gemini_image_model")
    )
    gemini_base_url: str | None = Field(None, validation_alias=AliasChoices("GEMINI_BASE_URL", "gemini_base_url"))
    gemini_timeout_seconds: float = Field(
        120, gt=0, le=600, validation_alias=AliasChoices("GEMINI_TIMEOUT_SECONDS", "gemini_timeout_seconds")
    )
    gemini_max_attempts: int = Field(
        4, ge=1, le=10, validation_alias=AliasChoices("GEMINI_MAX_ATTEMPTS", "gemini_max_attempts")
    )
    bids_vision_model: str = Field(
        "claude-sonnet-4-5", validation_alias=AliasChoices("BIDS_VISION_MODEL", "bids_vision_model")
    )
    bids_max_upload_bytes: int = Field(
        50 * 1024 * 1024, ge=1024, validation_alias=AliasChoices("BIDS_MAX_UPLOAD_BYTES", "bids_max_upload_bytes")
    )
    bids_max_pages: int = Field(300, ge=1, le=5000, validation_alias=AliasChoices("BIDS_MAX_PAGES", "bids_max_pages"))
    bids_pages_in_flight: int = Field(
        4, ge=1, le=64, validation_alias=AliasChoices("BIDS_PAGES_IN_FLIGHT", "bids_pages_in_flight")
    )
    bids_render_dpi: int = Field(
        100, ge=36, le=400, validation_alias=AliasChoices("BIDS_RENDER_DPI", "bids_render_dpi")
    )
    bids_vision_tile_px: int = Field(
        1024, ge=256, le=2048, validation_alias=AliasChoices("BIDS_VISION_TILE_PX", "bids_vision_tile_px")
    )
    bids_work_dir: str = Field("", validation_alias=AliasChoices("BIDS_WORK_DIR", "bids_work_dir"))
    bids_vision_daily_tiles: int = Field(
        2000, ge=0, validation_alias=AliasChoices("BIDS_VISION_DAILY_TILES", "bids_vision_daily_tiles")
    )

    # pricebook: ServiceTitan (the app key is ours; client id and secret belong to each business's connection)
    servicetitan_app_key: str = Field("", validation_alias=AliasChoices("SERVICETITAN_APP_KEY", "servicetitan_app_key"))
    servicetitan_auth_url: str = Field(
        "https://auth.servicetitan.io",
        validation_alias=AliasChoices("SERVICETITAN_AUTH_URL", "servicetitan_auth_url"),
    )
    servicetitan_api_base_url: str = Field(
        "https://api.servicetitan.io",
        validation_alias=AliasChoices("SERVICETITAN_API_BASE_URL", "servicetitan_api_base_url"),
    )
    servicetitan_integration_auth_url: str = Field(
        "https://auth-integration.servicetitan.io",
        validation_alias=AliasChoices("SERVICETITAN_INTEGRATION_AUTH_URL", "servicetitan_integration_auth_url"),
    )
    servicetitan_integration_api_base_url: str = Field(
        "https://api-integration.servicetitan.io",
        validation_alias=AliasChoices("SERVICETITAN_INTEGRATION_API_BASE_URL", "servicetitan_integration_api_base_url"),
    )
    servicetitan_max_rps: float = Field(
        50, gt=0, le=60, validation_alias=AliasChoices("SERVICETITAN_MAX_RPS", "servicetitan_max_rps")
    )
    servicetitan_timeout_seconds: float = Field(
        30, gt=0, le=120, validation_alias=AliasChoices("SERVICETITAN_TIMEOUT_SECONDS", "servicetitan_timeout_seconds")
    )
    pricebook_key_encryption_key: str = Field(
        "", validation_alias=AliasChoices("PRICEBOOK_KEY_ENCRYPTION_KEY", "pricebook_key_encryption_key")
    )

    # estimates by voice: the ElevenLabs agent (signed URL), its post-call webhook and its server tools
    elevenlabs_api_key: str = Field("", validation_alias=AliasChoices("ELEVENLABS_API_KEY", "elevenlabs_api_key"))
    elevenlabs_agent_id: str = Field(
        "", max_length=200, validation_alias=AliasChoices("ELEVENLABS_AGENT_ID", "elevenlabs_agent_id")
    )
    elevenlabs_webhook_secret: str = Field(
        "", validation_alias=AliasChoices("ELEVENLABS_WEBHOOK_SECRET", "elevenlabs_webhook_secret")
    )
    elevenlabs_tool_secret: str = Field(
        "", validation_alias=AliasChoices("ELEVENLABS_TOOL_SECRET", "elevenlabs_tool_secret")
    )
    elevenlabs_base_url: str = Field(
        "https://api.elevenlabs.io", validation_alias=AliasChoices("ELEVENLABS_BASE_URL", "elevenlabs_base_url")
    )

    @field_validator("database_url", "database_migration_url")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        """Every PostgreSQL URL is driven by psycopg 3, whatever scheme the operator wrote."""
        if value is None:
            return None
        for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment == "development":
            return self
        required = ["jwt_signing_key"]
        if self.twilio_account_sid:
            required.append("twilio_auth_token")
        if self.environment == "production" or self.inspection_link_signing_key:
            required.append("inspection_link_signing_key")
        if self.servicetitan_app_key or self.pricebook_key_encryption_key:  # the pricebook's integration is on
            required.append("pricebook_key_encryption_key")
        if self.elevenlabs_api_key:  # voice estimates are on: their webhooks must be verifiable
            required += ["elevenlabs_webhook_secret", "elevenlabs_tool_secret"]
        for name in required:
            if getattr(self, name).strip().lower() in PLACEHOLDER_SECRETS:
                env_name = name.upper()
                raise ValueError(
                    f"{env_name} is unset or a placeholder; set a real secret (or APP_ENV=development for local work)"
                )
        return self

    @property
    def migration_url(self) -> str:
        """The owner role's URL for Alembic; the app's URL when no separate owner is configured."""
        return self.database_migration_url or self.database_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, with Key Vault secrets applied when KEY_VAULT_URL is set."""
    bootstrap = BootstrapSettings()  # pyright: ignore[reportCallIssue] - read from the environment
    overrides: dict[str, Any] = load_secret_overrides(
        bootstrap.key_vault_url, fields=SECRET_FIELDS, client_id=bootstrap.azure_client_id
    )
    return Settings(**overrides)


def reset_settings_cache() -> None:
    """Forget the cached settings (tests that change the environment)."""
    get_settings.cache_clear()
