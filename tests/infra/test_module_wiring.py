"""What `bicep build` would catch across files, read without the Bicep CLI: every module call passes
parameters its module declares, all the required ones, and reads only outputs the module has."""

from __future__ import annotations

import re

from tests.infra.bicep import BICEP_DIR, bicep_files, key, parsed


def _calls() -> list[tuple[str, str, dict, dict]]:
    """(calling file, module symbol, the call, the called module's template)."""
    found = []
    for path in bicep_files():
        for symbol, call in (parsed(path).get("modules") or {}).items():
            target = (path.parent / call["detail"]["path"]).resolve()
            found.append((path.name, symbol, call, parsed(target)))
    return found


def test_module_calls_pass_declared_and_required_parameters() -> None:
    calls = _calls()
    assert calls
    for caller, symbol, call, target in calls:
        passed = {key(name) for name in (call["config"].get("params") or {})}
        declared = set(target["parameters"])
        required = {name for name, p in target["parameters"].items() if p.get("default") is None}
        assert passed - declared == set(), f"{caller}: module {symbol} gets undeclared {sorted(passed - declared)}"
        assert required - passed == set(), f"{caller}: module {symbol} misses {sorted(required - passed)}"


def test_outputs_read_from_modules_exist() -> None:
    for path in bicep_files():
        template = parsed(path)
        modules = {symbol: call for symbol, call in (template.get("modules") or {}).items()}
        text = path.read_text()
        for symbol, output in re.findall(r"\b(\w+)\.outputs\.(\w+)", text):
            assert symbol in modules, f"{path.name}: {symbol} is not a module"
            target = parsed((path.parent / modules[symbol]["detail"]["path"]).resolve())
            assert output in (target.get("outputs") or {}), f"{path.name}: {symbol} has no output {output}"


def test_every_parameter_of_a_module_is_used() -> None:
    for path in bicep_files():
        body = path.read_text()
        for name in parsed(path)["parameters"]:
            uses = len(re.findall(rf"\b{re.escape(name)}\b", body))
            assert uses >= 2, f"{path.relative_to(BICEP_DIR)}: parameter {name} is never used"
