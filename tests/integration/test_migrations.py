"""Every migration runs up, down and up again, and the models agree with what the migrations build."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool

from devhost.services import ROOT
from tests.conftest import Database, create_database


def _config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["skip_logging"] = True
    return config


def _tables(url: str) -> dict[str, set[str]]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        inspector = inspect(engine)
        schemas = [s for s in inspector.get_schema_names() if s not in ("information_schema", "pg_catalog")]
        return {s: set(inspector.get_table_names(schema=s)) - {"alembic_version"} for s in schemas}
    finally:
        engine.dispose()


def test_migrations_go_up_down_and_up_again(worker_id: str) -> None:
    # given a scratch database already at head
    scratch: Database = create_database(f"tradeops_scratch_{worker_id}")
    config = _config(scratch.owner_url)
    at_head = _tables(scratch.owner_url)
    assert "outbox_messages" in at_head["public"]
    # when every revision is undone
    command.downgrade(config, "base")
    # then nothing of ours is left
    assert all(not tables for tables in _tables(scratch.owner_url).values())
    # and going up again rebuilds the same schema
    command.upgrade(config, "heads")
    assert _tables(scratch.owner_url) == at_head


def test_models_match_the_migrated_schema(database: Database) -> None:
    import migrations.env_models  # noqa: F401  (imports every module's models)
    from shared.db import Base

    engine = create_engine(database.owner_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            # the dev host keeps its durable state in schema devhost (plain SQL, not Alembic: README, Durable Functions)
            opts = {
                "include_schemas": True,
                "include_name": lambda name, kind, _: kind != "schema" or name != "devhost",
            }
            context = MigrationContext.configure(connection, opts=opts)
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"
