"""Alembic environment: runs as the owner role against every module's metadata."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Engine

import migrations.env_models  # noqa: F401  (every module's tables)
from shared.db import Base, engine_for_settings, make_engine

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from shared.config import get_settings

    return get_settings().migration_url


def _engine() -> Engine:
    url = config.get_main_option("sqlalchemy.url")
    if url:  # an explicit URL (tests, tools) carries its own password, if any
        return make_engine(url, pooled=False)
    from shared.config import get_settings

    # DATABASE_AUTH=entra: the migration role signs in with an Entra token too (infra/hooks/postprovision.sh).
    settings = get_settings()
    return engine_for_settings(settings.migration_url, settings, pooled=False)


def run_migrations_offline() -> None:
    """Emit SQL without a database connection."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, include_schemas=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on a live connection."""
    engine = _engine()
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, include_schemas=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
