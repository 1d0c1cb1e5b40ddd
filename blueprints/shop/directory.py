"""Read-only projections of the crm and identity tables for the shop's bulk reads (board, exports).

Single-record reads go through `crm.service` / `identity.service`. The board shows 200 cards with
their customer, vehicle and technician in one statement, which no public service offers yet, so the
shop joins these columns directly. Nothing here writes; only the names of columns are relied upon.
"""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table
from sqlalchemy.dialects.postgresql import UUID

# A private MetaData: these projections must never reach Alembic's comparison of Base.metadata.
_metadata = MetaData()

customers = Table("customers", _metadata, Column("id", UUID(as_uuid=True), primary_key=True),
                  Column("tenant_id", UUID(as_uuid=True)), Column("name", String), Column("phone", String))  # fmt: skip
vehicles = Table("vehicles", _metadata, Column("id", UUID(as_uuid=True), primary_key=True),
                 Column("year", String), Column("make", String), Column("model", String))  # fmt: skip
users = Table("users", _metadata, Column("id", UUID(as_uuid=True), primary_key=True), Column("name", String))
