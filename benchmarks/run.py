"""Run the benchmarks one at a time and keep each one's last JSON line in benchmarks/results/latest.json.

`make bench` runs every benchmarks/bench_*.py; `python benchmarks/run.py bench_shop.py ...` runs only those
and replaces just their entries. Each entry records when it ran and the machine's load then, so a figure
quoted in the README can be traced to its run.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"


def _machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform(terse=True)}


def run(script: Path) -> dict[str, object]:
    """Run one benchmark, echoing its output; returns its entry (the last stdout line parsed as JSON)."""
    print(f"== {script.relative_to(HERE.parent)}", flush=True)
    load_before = os.getloadavg()
    started = datetime.now(UTC)
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    last = ""
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.strip():
            last = line.strip()
    if process.wait() != 0:
        raise SystemExit(f"{script.name} failed with exit code {process.returncode}")
    return {
        "script": script.name,
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        "load_average_1m_before": round(load_before[0], 2),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "machine": _machine(),
        "result": json.loads(last),
    }


def main(names: list[str]) -> None:
    """Run the named benchmarks (all when none) and update the results file."""
    scripts = [HERE / name for name in names] if names else sorted(HERE.glob("bench_*.py"))
    entries = json.loads(RESULTS.read_text())["runs"] if RESULTS.exists() else []
    by_script = {entry["script"]: entry for entry in entries}
    for script in scripts:
        by_script[script.name] = run(script)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        ordered = [by_script[name] for name in sorted(by_script)]
        RESULTS.write_text(json.dumps({"runs": ordered}, indent=2) + "\n")
    print(f"results: {RESULTS.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:])
