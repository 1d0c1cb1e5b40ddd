"""`python -m devhost [--app module:attr] [--port 7071]`: run a Functions app locally with its services."""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from devhost.elevenlabs import DEV_TOOL_SECRET, DEV_WEBHOOK_SECRET, AgentStandIn
from devhost.services import ROOT, Azurite, EmbeddedPostgres, MailCatcher, run_migrations
from devhost.sms import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, TextCatcher

log = logging.getLogger("devhost")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument("--app", default="function_app:app", help="module:attribute of the FunctionApp")
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEVHOST_PORT", "7071")))
    parser.add_argument("--settings", default="local.settings.json", help="local settings file (Values)")
    parser.add_argument("--no-services", action="store_true", help="start neither PostgreSQL nor Azurite")
    parser.add_argument("--data-dir", default=str(ROOT / ".data"), help="where embedded services keep data")
    parser.add_argument("--no-migrate", action="store_true", help="skip `alembic upgrade head`")
    parser.add_argument("--seed", action="store_true", help="seed the demo tenant (idempotent)")
    parser.add_argument("--sidecar", action="append", default=[], help="a command to run beside the host (repeatable)")
    return parser.parse_args(argv)


def load_local_settings(path: Path) -> None:
    """Put the Values of local.settings.json into the environment, as Core Tools does (env wins).

    A missing file is first copied from local.settings.example.json, as `make dev` does.
    """
    example = Path.cwd() / "local.settings.example.json"
    if not path.exists() and example.exists():
        shutil.copyfile(example, path)
        log.info("no %s: copied %s to it (harmless local values)", path, example.name)
    text = path.read_text() if path.exists() else ""
    if not text.strip():
        return
    values = json.loads(text).get("Values", {})
    for name, value in values.items():
        os.environ.setdefault(name, str(value))


def configure_logging() -> None:
    """Dev host lines on stderr; the app configures its own JSON logging."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[devhost] %(levelname)s %(message)s"))
    root = logging.getLogger("devhost")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


class Services:
    """The embedded services this run started, stopped in reverse order."""

    def __init__(self) -> None:
        self.postgres: EmbeddedPostgres | None = None
        self.azurite: Azurite | None = None
        self.mail: MailCatcher | None = None
        self.texts: TextCatcher | None = None
        self.voice: AgentStandIn | None = None
        self.sidecars: list[subprocess.Popen[bytes]] = []

    def start(self, data_dir: Path) -> None:
        """Start PostgreSQL, Azurite, a mail catcher and a text catcher unless DATABASE_URL / AzureWebJobsStorage /
        SMTP_HOST / TWILIO_BASE_URL and TWILIO_API_BASE_URL point elsewhere."""
        if not os.environ.get("DATABASE_URL"):
            self.postgres = EmbeddedPostgres(data_dir / "pg").start()
            os.environ["DATABASE_URL"] = self.postgres.url(role="tradeops_app")
            os.environ["DATABASE_MIGRATION_URL"] = self.postgres.url()
            log.info("embedded PostgreSQL at %s", self.postgres.socket_dir)
        storage = os.environ.get("AzureWebJobsStorage", "")
        if not storage or storage == "UseDevelopmentStorage=true":
            self.azurite = Azurite.in_folder(data_dir / "azurite").start()
            os.environ["AzureWebJobsStorage"] = self.azurite.connection_string
            log.info("Azurite on 127.0.0.1:%d (blob) and :%d (queue)", self.azurite.blob_port, self.azurite.queue_port)
        if not os.environ.get("SMTP_HOST"):
            self.mail = MailCatcher(data_dir / "mail").start()
            os.environ.update(self.mail.env())
            if not os.environ.get("SMTP_FROM"):
                os.environ["SMTP_FROM"] = "no-reply@dev.tradeops.dev"
            log.info("emails are caught on 127.0.0.1:%d and saved under %s", self.mail.port, self.mail.directory)
        if not os.environ.get("TWILIO_BASE_URL") or not os.environ.get("TWILIO_API_BASE_URL"):
            self.start_text_catcher(data_dir / "sms")
        if not os.environ.get("ELEVENLABS_API_KEY") and not os.environ.get("ELEVENLABS_BASE_URL"):
            self.start_voice_agent()

    def start_voice_agent(self) -> None:
        """The local voice agent (devhost/elevenlabs.py): a typed transcript becomes a signed post-call webhook."""
        for name, value in (
            ("ELEVENLABS_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET),
            ("ELEVENLABS_TOOL_SECRET", DEV_TOOL_SECRET),
        ):
            if not os.environ.get(name):
                os.environ[name] = value
        self.voice = AgentStandIn(
            webhook_secret=os.environ["ELEVENLABS_WEBHOOK_SECRET"], app_url=os.environ.get("PUBLIC_BASE_URL", "")
        ).start()
        os.environ["ELEVENLABS_BASE_URL"] = self.voice.base_url
        log.info("voice sessions open the local agent at %s/local/conversation", self.voice.base_url)

    def start_text_catcher(self, directory: Path) -> None:
        """Twilio Verify and Messages on loopback for whichever of the two names no real host."""
        self.texts = TextCatcher(
            directory,
            account_sid=os.environ.get("TWILIO_ACCOUNT_SID") or DEV_ACCOUNT_SID,
            auth_token=os.environ.get("TWILIO_AUTH_TOKEN") or DEV_AUTH_TOKEN,
        ).start()
        for name, value in self.texts.env().items():
            if not os.environ.get(name):
                os.environ[name] = value
        log.info("texts (sign-in codes too) are caught at %s and saved under %s", self.texts.base_url, directory)

    def start_sidecar(self, command: str) -> None:
        """Run a command beside the host with the same environment."""
        self.sidecars.append(subprocess.Popen(command, shell=True, start_new_session=True, cwd=ROOT))
        log.info("sidecar started: %s", command)

    def stop(self) -> None:
        """Stop every child process this run started."""
        for process in self.sidecars:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.texts is not None:
            self.texts.stop()
        if self.voice is not None:
            self.voice.stop()
        if self.mail is not None:
            self.mail.stop()
        if self.azurite is not None:
            self.azurite.stop()
        if self.postgres is not None:
            self.postgres.stop()


def check_app_settings() -> str | None:
    """Why the app's settings refuse to load (a placeholder secret, a bad value), or None when they load.

    The app reads them on its first request; the host checks them at start so it fails there, not with a
    500 for every request. Apps without a `shared.config` settings object are not checked.
    """
    try:
        from shared.config import get_settings, reset_settings_cache
    except ImportError:
        return None
    try:
        get_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        return str(exc)
    finally:
        reset_settings_cache()  # the app loads its own, once every service has set its part of the environment
    return None


def try_it(base_url: str, seed_lines: list[str]) -> str:
    """What to paste first, printed once the host answers."""
    lines = [
        "",
        "Try it:",
        f"  curl -s {base_url}/api/health",
        f"  curl -s {base_url}/api/ready",
        f"  curl -s {base_url}/api/openapi.json",
    ]
    lines += [f"  {line}" for line in seed_lines]
    return "\n".join(lines) + "\n"


async def serve(args: argparse.Namespace, seed_lines: list[str]) -> None:
    """Start the host and wait for SIGINT or SIGTERM."""
    from devhost.host import DevHost

    host = DevHost(args.app, port=args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await host.start()
    print(f"Functions host ready: {host.base_url}/{host.config.route_prefix}", flush=True)
    print(try_it(host.base_url, seed_lines), flush=True)
    await stop.wait()
    log.info("stopping")
    await host.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the dev host until interrupted, then stop everything it started."""
    args = parse_args(argv)
    configure_logging()
    sys.path.insert(0, str(Path.cwd()))
    load_local_settings(Path(args.settings))
    if not os.environ.get("PUBLIC_BASE_URL"):  # left empty: links in texts and emails point at this host
        os.environ["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{args.port}"
    services = Services()
    seed_lines: list[str] = []
    try:
        refused = check_app_settings()
        if refused:
            print(f"The app's settings are refused, so the host does not start:\n{refused}", file=sys.stderr)
            return 2
        if not args.no_services:
            services.start(Path(args.data_dir))
        if services.azurite is not None:  # the PWA PUTs uploads straight to Blob from its own origin
            from shared.uploads import allow_browser_uploads

            log.info("blob CORS: uploads allowed from %s", ", ".join(allow_browser_uploads()) or "nowhere")
        if not args.no_migrate and (Path.cwd() / "alembic.ini").exists():
            run_migrations(os.environ.get("DATABASE_MIGRATION_URL") or os.environ["DATABASE_URL"])
        if args.seed:
            from devhost.seed import seed

            # In a context of its own: the tenant the seed binds must not label the host's later log lines.
            seed_lines = contextvars.copy_context().run(seed)
        for command in args.sidecar:
            services.start_sidecar(command)
        asyncio.run(serve(args, seed_lines))
    finally:
        services.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
