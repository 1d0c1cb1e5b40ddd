"""Database roles on Azure Database for PostgreSQL, run by infra/hooks/postprovision.sh as the Entra admin.

- tradeops_app: a login role mapped to the function app's managed identity (its Entra object id); the app
  signs in as it with a token (DATABASE_AUTH=entra). It owns nothing, so row-level security binds it.
- tradeops_migrator: a NOLOGIN role that owns the schema's tables; the admin runs migrations as it
  (SET ROLE through the connection's options), and is granted it here.

`--print` shows the statements without connecting.
"""

from __future__ import annotations

import argparse
import re
import sys

APP_ROLE = "tradeops_app"  # shared.db.APP_ROLE; this script runs without the app's dependencies
MIGRATION_ROLE = "tradeops_migrator"
TOKEN_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
# What the names this script writes into SQL may look like (they are quoted, and checked first).
SIGN_IN_NAME = re.compile(r"[A-Za-z0-9._@+-]{1,128}")
DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
OBJECT_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def server_statements(app_principal_id: str) -> list[tuple[str, tuple[str, ...]]]:
    """On the `postgres` database: map the identity (pgaadauth works only there)."""
    return [
        (
            "SELECT pgaadauth_create_principal_with_oid(%s, %s, 'service', false, false)"
            f" WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}')",
            (APP_ROLE, app_principal_id),
        ),
    ]


def database_statements(database: str, admin: str) -> list[tuple[str, tuple[str, ...]]]:
    """On the app's database: the migration role, its rights, and the admin's membership."""
    return [
        (
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{MIGRATION_ROLE}') THEN "
            f"CREATE ROLE {MIGRATION_ROLE} NOLOGIN; END IF; END $$",
            (),
        ),
        (f'GRANT {MIGRATION_ROLE} TO "{admin}"', ()),
        (f'GRANT CONNECT, CREATE ON DATABASE "{database}" TO {MIGRATION_ROLE}', ()),
        (f"GRANT USAGE, CREATE ON SCHEMA public TO {MIGRATION_ROLE} WITH GRANT OPTION", ()),
        (f'GRANT CONNECT ON DATABASE "{database}" TO {APP_ROLE}', ()),
    ]


def main(argv: list[str] | None = None) -> int:
    """Create or update the roles; idempotent."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--admin", required=True, help="the Entra administrator's sign-in name")
    parser.add_argument("--app-principal-id", required=True, help="object id of the function app's identity")
    parser.add_argument("--print", action="store_true", help="print the statements, connect to nothing")
    args = parser.parse_args(argv)
    for value, shape, what in (
        (args.admin, SIGN_IN_NAME, "--admin"),
        (args.database, DATABASE_NAME, "--database"),
        (args.app_principal_id, OBJECT_ID, "--app-principal-id"),
    ):
        if not shape.fullmatch(value):
            parser.error(f"{what} {value!r} does not look like one")
    steps = [
        ("postgres", server_statements(args.app_principal_id)),
        (args.database, database_statements(args.database, args.admin)),
    ]
    if args.print:
        for database, statements in steps:
            for sql, params in statements:
                print(f"[{database}] {sql} {params if params else ''}".rstrip())
        return 0

    import psycopg
    from azure.identity import AzureCliCredential

    token = AzureCliCredential().get_token(TOKEN_SCOPE).token
    for database, statements in steps:
        with psycopg.connect(
            host=args.host, dbname=database, user=args.admin, password=token, sslmode="require", autocommit=True
        ) as conn:
            for sql, params in statements:
                conn.execute(sql, params or None)  # type: ignore[arg-type]
    print(f"roles ready: {APP_ROLE} (identity {args.app_principal_id}), {MIGRATION_ROLE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
