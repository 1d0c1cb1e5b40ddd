"""Entry point of the render container: `python -m render_container [--once] [--max-jobs N]`."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from types import FrameType

# Fields a worker log line may carry through `extra=`; never configuration values or message bodies.
_CONTEXT_FIELDS = ("job_id", "tenant_id", "status", "attempt", "duration_ms")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, the format the platform's log pipeline expects."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as a JSON line."""
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT_FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; everything else comes from environment variables."""
    parser = argparse.ArgumentParser(prog="python -m render_container", description="Tradeops Blender render worker")
    parser.add_argument("--once", action="store_true", help="process until the queue is empty, then exit")
    parser.add_argument("--max-jobs", type=int, default=None, help="exit after handling this many messages")
    parser.add_argument("--poll-interval", type=float, default=2.0, help="seconds to wait when the queue is empty")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the worker until the queue is drained, the job budget is spent or SIGTERM arrives."""
    args = parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("azure").setLevel(logging.WARNING)

    from render_container.settings import RenderSettings

    settings = RenderSettings()  # fail fast on bad configuration, before the slow bpy import
    if settings.applicationinsights_connection_string:
        from azure.monitor.opentelemetry import configure_azure_monitor  # only deployments that export pay for it

        from render_container.storage import identity_credential

        # Application Insights takes Entra-authenticated telemetry only (local auth is off).
        configure_azure_monitor(
            connection_string=settings.applicationinsights_connection_string, credential=identity_credential(settings)
        )
    from render_container.worker import RenderWorker

    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        # Container Apps sends SIGTERM before killing: finish the current job, take no new one.
        logging.getLogger("render_container").info("signal %s: stopping after the current job", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    worker = RenderWorker(settings)
    worker.prepare()
    logging.getLogger("render_container").info("render worker ready")
    handled = worker.run(once=args.once, max_jobs=args.max_jobs, poll_interval=args.poll_interval, stop=stop)
    logging.getLogger("render_container").info("render worker exiting after %d messages", handled)
    return 0


def run_and_exit() -> None:
    """Run main() and leave through blender.hard_exit, whatever happens (a normal exit can hang in bpy 4.5)."""
    from render_container.blender import hard_exit

    try:
        code = main()
    except SystemExit as exc:  # argparse --help / usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        logging.getLogger("render_container").exception("render worker crashed")
        code = 1
    hard_exit(code)


if __name__ == "__main__":
    run_and_exit()
