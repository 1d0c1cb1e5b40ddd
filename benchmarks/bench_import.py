"""Cold start as Azure pays it: a fresh interpreter with the settings Azure has (the Azure Monitor distro switched
on), importing the Functions SDKs, importing function_app, the worker's indexing and the first invocation's
start-up, against importing the Functions SDKs alone (the floor every Python function app pays) in the same run.

Each run is a new interpreter (`python -c`), as a new Flex Consumption instance is. Its environment is the
function app's (infra/bicep/modules/functionapp.bicep): APP_ENV=production, APPLICATIONINSIGHTS_CONNECTION_STRING
(a syntactically valid one whose ingestion and live endpoints are a closed loopback port), AZURE_CLIENT_ID and the
App Service identity endpoint (loopback too), WEBSITE_SITE_NAME and FUNCTIONS_WORKER_RUNTIME (which the platform
sets, and which tell the distro's resource detectors not to query the VM metadata address). Two differences, both
to keep every byte on this machine, both said in the JSON: KEY_VAULT_URL is unset (the secrets come from the
environment, so the Key Vault round trip of the real start-up is not in these figures) and statsbeat, the
exporter's own telemetry to a fixed Microsoft endpoint, is off.

Bytecode as we expect it in Azure: site-packages come compiled (pip compiles what it installs) and our own
modules are compiled from source in every run, since the package carries no `__pycache__` (.funcignore) and runs
from a read-only mount. The probes run with PYTHONDONTWRITEBYTECODE=1, and the JSON says whether the tree held
project bytecode that Python read anyway (`project_bytecode_in_tree`, faster figures when true). The probe also
refuses, and counts, every DNS look-up or connection to anything but loopback (`off_machine_attempts`, must be 0).

Phases, each timed in the probe:
- `sdk`: import azure.functions and azure.durable_functions;
- `app`: import function_app (every blueprint's functions, schemas and routes);
- `index`: what the Python worker's indexing does with it (azure_functions_worker loader.index_function_app and
  process_indexed_function): app.get_functions(), then per function inspect.signature, typing.get_type_hints,
  get_bindings and get_raw_bindings;
- `startup`: shared.runtime.ensure_started(), the first invocation's start-up in the design's order: settings
  (secrets), telemetry (the distro's configure_azure_monitor), the database pool (engine; no connection yet),
  then every model module and SQLAlchemy's mapper configuration; its own parts are `startup_parts`;
- `first_requests` (reported apart, not in the cold start): every module the functions load on first use
  (shared.lazy.load_all()): what the first requests of a new instance pay between them.

Two figures. `import_index` = sdk + app + index is issue 18's (point 4): import function_app and the indexing
with the distro on, at most 1.0 s median (1.47 s when the issue was filed); `meets_target` is that, with nothing
heavy loaded and no byte off the machine. `to_first_handler` = import_index + startup is what passes before the
first invocation's handler runs; it is reported against the same 1.0 s (`meets_target_with_startup`) so the work
moved out of indexing is not hidden. The machine is shared (2 cores, other engineers' runs): compare with the SDK
floor of the same run, and note the load average `benchmarks/run.py` records.

Where the time went before the lazy imports (`python -X importtime`, cumulative, one quiet run, 1.31 s for
function_app on top of the SDKs): blueprints.bids.functions 623 ms (bids.analysis 384 ms), fpdf 305 ms (loaded by
shared.pdf for the estimates proposal; numpy 130 ms under it), sqlalchemy 150 ms, identity.service 175 ms,
pricebook.functions 170 ms, identity.models 98 ms, aiohttp 80 ms (under the Durable SDK, in the floor). The probe's
`top_imports` lists the largest self-contained imports of one run after the change (`-X importtime`).

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
TARGET_S = 1.0
ISSUE_FIGURE_S = 1.47


def _closed_loopback_port() -> int:
    """A loopback port nothing listens on: the exporter's and identity endpoint's calls are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def azure_environment() -> dict[str, str]:
    """The function app's settings as Azure sets them, pointing every outside endpoint at a closed loopback port."""
    port = _closed_loopback_port()
    loopback = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPLICATIONINSIGHTS", "OTEL_", "KEY_VAULT"))}
    env.update(
        {
            "APP_ENV": "production",
            "LOG_LEVEL": "INFO",
            "APPLICATIONINSIGHTS_CONNECTION_STRING": (
                "InstrumentationKey=00000000-0000-4000-8000-000000000000;"
                f"IngestionEndpoint={loopback}/;LiveEndpoint={loopback}/;"
                "ApplicationId=00000000-0000-4000-8000-000000000001"
            ),
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": (
                "ClientId=00000000-0000-4000-8000-000000000002;Authorization=AAD"
            ),
            # statsbeat reports the exporter's health to a fixed Microsoft endpoint: off, to stay on loopback
            "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
            "AZURE_CLIENT_ID": "00000000-0000-4000-8000-000000000002",
            "IDENTITY_ENDPOINT": f"{loopback}/msi/token",
            "IDENTITY_HEADER": "bench",
            "WEBSITE_SITE_NAME": "tradeops-bench",
            "WEBSITE_INSTANCE_ID": "0" * 64,
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "FUNCTIONS_EXTENSION_VERSION": "~4",
            "DATABASE_AUTH": "entra",
            "DATABASE_URL": f"postgresql+psycopg://tradeops_app@127.0.0.1:{port}/tradeops",
            "AzureWebJobsStorage__accountName": "tradeopsbench",
            "AzureWebJobsStorage__credential": "managedidentity",
            "AzureWebJobsStorage__clientId": "00000000-0000-4000-8000-000000000002",
            "JWT_SIGNING_KEY": "bench-signing-key-" + "x" * 32,
            "INSPECTION_LINK_SIGNING_KEY": "bench-link-key-" + "y" * 32,
            "PUBLIC_BASE_URL": "https://tradeops-bench.azurewebsites.net",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


# Runs in the fresh interpreter. The guard goes in first: nothing may resolve or connect beyond loopback.
PROBE = r"""
import socket, sys, time
_off_machine = []
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_getaddrinfo, _connect, _connect_ex = socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex
def _host(address):
    return address[0] if isinstance(address, tuple) else address
def _refuse(host):
    _off_machine.append(str(host))
    raise OSError(f"bench: no traffic beyond loopback ({host})")
def getaddrinfo(host, *args, **kwargs):
    if host not in _LOOPBACK and host is not None:
        _refuse(host)
    return _getaddrinfo(host, *args, **kwargs)
def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and _host(address) not in _LOOPBACK:
        _refuse(_host(address))
    return _connect(self, address)
def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and _host(address) not in _LOOPBACK:
        _refuse(_host(address))
    return _connect_ex(self, address)
socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex = getaddrinfo, connect, connect_ex

marks = {}
t = time.perf_counter()
import azure.functions, azure.durable_functions
marks["sdk"] = time.perf_counter() - t
if __APP__:
    t = time.perf_counter()
    import function_app
    marks["app"] = time.perf_counter() - t
    t = time.perf_counter()
    import inspect, typing
    functions = function_app.app.get_functions()
    for function in functions:
        user_function = function.get_user_function()
        inspect.signature(user_function)
        typing.get_type_hints(user_function)
        list(function.get_bindings())
        function.get_raw_bindings()
    marks["index"] = time.perf_counter() - t
    indexed = sorted(sys.modules)
    t = time.perf_counter()
    from shared import runtime
    runtime.ensure_started()
    marks["startup"] = time.perf_counter() - t
    marks["startup_parts"] = dict(runtime.STARTUP_SECONDS)
    t = time.perf_counter()
    from shared import lazy
    lazy.load_all()
    marks["first_requests"] = time.perf_counter() - t
    marks["functions"] = len(functions)
    heavy = __HEAVY__
    marks["loaded_at_index"] = [m for m in heavy if m in indexed]
marks["off_machine_attempts"] = sorted(set(_off_machine))
import json, os
print(json.dumps(marks), flush=True)
os._exit(0)  # no exporter flush at exit: its loopback endpoint is closed and nothing here measures it
"""

# Loaded at indexing is a regression (tests/unit/test_cold_start.py says why and what to do).
HEAVY = (
    "sqlalchemy",
    "sqlalchemy.orm",
    "psycopg",
    "fpdf",
    "numpy",
    "PIL",
    "twilio",
    "anthropic",
    "httpx",
    "jsonschema",
    "azure.identity",
    "azure.monitor.opentelemetry",
    "opentelemetry.sdk",
    "azure.storage.blob",
    "azure.storage.queue",
    "pypdfium2",
    "pdfplumber",
)


def probe(env: dict[str, str], *, app: bool) -> dict[str, object]:
    """One fresh interpreter's phase times (or only the SDK import when app is False)."""
    code = PROBE.replace("__APP__", repr(app)).replace("__HEAVY__", repr(HEAVY))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    if out.returncode != 0:
        raise SystemExit(f"probe failed ({out.returncode}):\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def top_imports(env: dict[str, str], count: int = 12) -> list[dict[str, object]]:
    """The largest cumulative imports of function_app on top of the SDKs in one run (python -X importtime)."""
    code = "import azure.functions, azure.durable_functions\nimport function_app\n"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    rows = []
    sdk_done = False
    for line in out.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not match:
            continue
        name = match.group(4)
        if not sdk_done:
            sdk_done = name == "azure.durable_functions"
            continue
        depth = len(match.group(3)) // 2
        if name.startswith(("function_app", "blueprints")) and depth <= 2:
            continue  # our own package shells: their children are the informative rows
        rows.append({"module": name, "cumulative_ms": round(int(match.group(2)) / 1000, 1)})
    rows.sort(key=lambda row: -float(str(row["cumulative_ms"])))
    return rows[:count]


def _median(runs: list[dict[str, object]], key: str) -> float:
    return statistics.median(float(str(run[key])) for run in runs)


def main() -> None:
    """Alternate app and floor runs (so both see the same load), print a table and the JSON line."""
    env = azure_environment()
    apps, floors = [], []
    for _ in range(RUNS):
        apps.append(probe(env, app=True))
        floors.append(probe(env, app=False))
    for run in apps:
        run["import_index"] = sum(float(str(run[key])) for key in ("sdk", "app", "index"))
        run["to_first_handler"] = float(str(run["import_index"])) + float(str(run["startup"]))
    phases = {key: round(_median(apps, key), 3) for key in ("sdk", "app", "index", "startup", "first_requests")}
    parts = {
        key: round(statistics.median(float(run["startup_parts"][key]) for run in apps), 3)  # type: ignore[index]
        for key in apps[0]["startup_parts"]  # type: ignore[union-attr]
    }
    cold = _median(apps, "import_index")
    ready = _median(apps, "to_first_handler")
    floor = _median(floors, "sdk")
    loaded = apps[-1]["loaded_at_index"]
    off_machine = sorted({host for run in apps + floors for host in run["off_machine_attempts"]})  # type: ignore[attr-defined]
    print(f"{'phase':<16}{'median s':>10}")
    for key, value in phases.items():
        print(f"{key:<16}{value:>10.3f}")
    for key, value in parts.items():
        print(f"  startup.{key:<14}{value:>8.3f}")
    worst = max(float(str(r["import_index"])) for r in apps)
    print(f"import + index (sdk+app+index): median {cold:.3f} s, max {worst:.3f} s (target {TARGET_S} s)")
    print(f"to the first handler (+ startup): median {ready:.3f} s")
    print(f"SDK-only floor: median {floor:.3f} s; import + index over the floor {cold - floor:.3f} s; {RUNS} runs each")
    print(f"heavy modules loaded by indexing: {loaded or 'none'}; off-machine attempts: {off_machine or 'none'}")
    top = top_imports(env)
    result = {
        "benchmark": "cold_start",
        "runs": RUNS,
        "functions": apps[-1]["functions"],
        "import_index_median_s": round(cold, 3),
        "import_index_max_s": round(worst, 3),
        "to_first_handler_median_s": round(ready, 3),
        "baseline_sdk_import_median_s": round(floor, 3),
        "import_index_over_sdk_s": round(cold - floor, 3),
        "phases_median_s": phases,
        "startup_parts_median_s": parts,
        "heavy_modules_loaded_at_index": loaded,
        "off_machine_attempts": off_machine,
        "top_imports_ms": top,
        "project_bytecode_in_tree": any(
            next((ROOT / package).rglob("__pycache__/*.pyc"), None) is not None
            for package in ("blueprints", "shared", "render_container")
        ),
        "distro": "on (APPLICATIONINSIGHTS_CONNECTION_STRING set; statsbeat off; secrets from the environment)",
        "issue_figure_s": ISSUE_FIGURE_S,
        "target_s": TARGET_S,
        "meets_target": cold <= TARGET_S and not loaded and not off_machine,
        "meets_target_with_startup": ready <= TARGET_S and not loaded and not off_machine,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
