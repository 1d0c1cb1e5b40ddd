"""`python -m devhost.migrate [--seed]`: `alembic upgrade head` (and the seed), with embedded services if needed."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from devhost.__main__ import Services, load_local_settings
from devhost.services import ROOT, run_migrations


def main(argv: list[str] | None = None) -> int:
    """Migrate the configured database, starting the embedded one when DATABASE_URL is unset."""
    parser = argparse.ArgumentParser(prog="python -m devhost.migrate")
    parser.add_argument("--seed", action="store_true", help="also seed the demo tenant")
    parser.add_argument("--settings", default="local.settings.json")
    args = parser.parse_args(argv)
    load_local_settings(Path(args.settings))
    services = Services()
    try:
        services.start(ROOT / ".data")
        run_migrations(os.environ.get("DATABASE_MIGRATION_URL") or os.environ["DATABASE_URL"])
        print("database at head")
        if args.seed:
            from devhost.seed import seed

            for line in seed() or ["nothing to seed yet"]:
                print(line)
    finally:
        services.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
