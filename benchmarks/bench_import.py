"""Cold start: time to import and index function_app in a fresh interpreter, against importing the
Functions SDKs alone (the floor every Python function app pays), measured in the same run.

Last line: one JSON object with the figures. Target: import under 1.5 s on this machine.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
HEAVY = (
    "twilio",
    "azure.identity",
    "azure.keyvault",
    "azure.monitor",
    "opentelemetry.sdk",
    "jsonschema",
    "azure.storage.blob",
    "azure.storage.queue",
    "pypdf",
    "fitz",
    "openai",
    "bpy",
)

PROBE = """
import sys, time
t = time.perf_counter()
{imports}
elapsed = time.perf_counter() - t
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print(elapsed, ",".join(heavy))
"""


def measure(imports: str) -> tuple[list[float], list[str]]:
    """Import times in fresh interpreters, and which heavy modules the last one loaded."""
    times, heavy = [], []
    for _ in range(RUNS):
        code = PROBE.format(imports=imports, heavy=HEAVY)
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        seconds, _, loaded = out.stdout.strip().partition(" ")
        times.append(float(seconds))
        heavy = [m for m in loaded.split(",") if m]
    return times, heavy


def main() -> None:
    """Measure, print a table and the JSON line."""
    app_times, heavy = measure("import function_app\nfunction_app.app.get_functions()")
    sdk_times, _ = measure("import azure.functions, azure.durable_functions")
    app_median, sdk_median = statistics.median(app_times), statistics.median(sdk_times)
    print(f"import+index function_app: median {app_median:.3f} s, max {max(app_times):.3f} s over {RUNS} runs")
    print(f"import the Functions SDKs alone: median {sdk_median:.3f} s")
    print(f"heavy modules loaded at import: {heavy or 'none'}")
    result = {
        "benchmark": "cold_import",
        "runs": RUNS,
        "import_index_median_s": round(app_median, 3),
        "import_index_max_s": round(max(app_times), 3),
        "baseline_sdk_import_median_s": round(sdk_median, 3),
        "app_overhead_over_sdk_s": round(app_median - sdk_median, 3),
        "heavy_modules_loaded": heavy,
        "target_s": 1.5,
        "meets_target": app_median < 1.5 and not heavy,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
