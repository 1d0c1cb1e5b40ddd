"""Read-only projections of the crm and identity tables for the shop's hot reads (board, drawer, exports).

Writes and validation go through `crm.service` / `identity.service`. The board shows 200 cards with
their customer, vehicle and technician in one statement, and the drawer fetches them with the
appointment in one statement, which no public service offers, so the shop joins these columns
directly (every role that reads appointments may read every customer: `customers.read_all`).
Nothing here writes; only the names of columns are relied upon.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table
from sqlalchemy.dialects.postgresql import UUID

# A private MetaData: these projections must never reach Alembic's comparison of Base.metadata.
_metadata = MetaData()

_ID = UUID(as_uuid=True)
_AT = DateTime(timezone=True)


def _table(name: str, *columns: tuple[str, object]) -> Table:
    return Table(name, _metadata, Column("id", _ID, primary_key=True), *(Column(n, t) for n, t in columns))


customers = _table("customers", ("tenant_id", _ID), ("owner_id", _ID), ("name", String), ("phone", String),
                   ("email", String), ("address", String), ("timezone", String), ("notes", String),
                   ("created_at", _AT), ("updated_at", _AT), ("deleted_at", _AT))  # fmt: skip
vehicles = _table("vehicles", ("customer_id", _ID), ("year", Integer), ("make", String), ("model", String),
                  ("vin", String), ("mileage", Integer), ("created_at", _AT), ("updated_at", _AT),
                  ("deleted_at", _AT))  # fmt: skip
users = Table("users", _metadata, Column("id", UUID(as_uuid=True), primary_key=True), Column("name", String))
