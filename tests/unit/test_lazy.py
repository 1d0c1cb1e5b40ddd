"""shared.lazy: modules loaded on first use, safely under concurrent first requests, and named correctly."""

from __future__ import annotations

import ast
import sys
import threading
from pathlib import Path

import pytest

from shared import lazy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def slow_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A package whose module takes a while to import and counts how often its body ran."""
    package = tmp_path / "lazy_probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("RUNS = []\n")
    (package / "slow.py").write_text(
        "import time\nimport lazy_probe_pkg\n"
        "lazy_probe_pkg.RUNS.append(1)\n"
        "time.sleep(0.3)  # a module body still running when the other threads ask for it\n"
        "def value():\n    return 42\n"
        "LAST = 'defined at the end of the body'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "lazy_probe_pkg.slow"
    for name in ("lazy_probe_pkg.slow", "lazy_probe_pkg"):
        sys.modules.pop(name, None)


def test_nothing_is_imported_until_an_attribute_is_read(slow_package: str) -> None:
    proxy = lazy.LazyModule(slow_package)  # unregistered: load_all() never sees it
    assert slow_package not in sys.modules
    assert not lazy.is_loaded(proxy)
    assert proxy.value() == 42
    assert lazy.is_loaded(proxy)
    assert sys.modules[slow_package].value is proxy.value


def test_concurrent_first_reads_wait_for_one_complete_import(slow_package: str) -> None:
    proxy = lazy.LazyModule(slow_package)  # unregistered: load_all() never sees it
    start = threading.Barrier(8)
    seen: list[object] = []
    errors: list[BaseException] = []

    def first_request() -> None:
        start.wait()
        try:
            seen.append(proxy.LAST)  # the last name the body defines: a half-run module would lack it
        except BaseException as error:  # any failure is the finding
            errors.append(error)

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert seen == ["defined at the end of the body"] * 8
    assert sys.modules["lazy_probe_pkg"].RUNS == [1]


def test_a_monkeypatch_of_the_real_module_is_seen_through_the_stand_ins(
    slow_package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = lazy.LazyModule(slow_package)  # unregistered: load_all() never sees it
    function = lazy.LazyFunction(proxy, "value")
    assert function() == 42
    monkeypatch.setattr(sys.modules[slow_package], "value", lambda: 7)
    assert proxy.value() == 7
    assert function() == 7


def test_a_misspelt_name_fails_on_first_use_naming_it() -> None:
    proxy = lazy.LazyModule("shared.no_such_module_here")
    with pytest.raises(ModuleNotFoundError, match=r"shared\.no_such_module_here"):
        proxy.anything  # noqa: B018 - the read is the test


def _lazy_pairs(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """In one module: name -> module of its `if TYPE_CHECKING:` imports, and name -> module its lazy stand-in names."""
    typed: dict[str, str] = {}
    stand_ins: dict[str, str] = {}
    for node in ast.parse(path.read_text()).body:
        if not (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom) and statement.module:
                for alias in statement.names:
                    typed[alias.asname or alias.name] = f"{statement.module}.{alias.name}"
            elif isinstance(statement, ast.Import):
                for alias in statement.names:
                    typed[alias.asname or alias.name] = alias.name
        for statement in node.orelse:
            if not (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)):
                continue
            call = statement.value
            if ast.unparse(call.func) not in ("lazy.module", "lazy.function"):
                continue
            target = statement.targets[0]
            assert isinstance(target, ast.Name)
            arguments = [arg.value for arg in call.args if isinstance(arg, ast.Constant)]
            stand_ins[target.id] = ".".join(str(arg) for arg in arguments)
    return typed, stand_ins


LAZY_USERS = sorted(
    path
    for package in ("blueprints", "shared")
    for path in (ROOT / package).rglob("*.py")
    if path != ROOT / "shared" / "lazy.py"
    and ("lazy.module(" in path.read_text() or "lazy.function(" in path.read_text())
)


def test_the_trigger_modules_use_lazy_imports() -> None:
    names = {str(path.relative_to(ROOT)) for path in LAZY_USERS}
    assert {f"blueprints/{module}/functions.py" for module in ("shop", "crm", "identity", "bids")} <= names


@pytest.mark.parametrize("path", LAZY_USERS, ids=lambda path: str(path.relative_to(ROOT)))
def test_each_stand_in_names_what_its_type_checking_import_imports(path: Path) -> None:
    typed, stand_ins = _lazy_pairs(path)
    assert stand_ins, f"{path.name}: lazy stand-ins belong in the else branch of `if TYPE_CHECKING:`"
    for name, target in stand_ins.items():
        assert name in typed, f"{path.name}: {name} = lazy...({target!r}) has no `if TYPE_CHECKING:` import for pyright"
        expected = typed[name]
        # `from pkg import module` names pkg.module; `from module import function` names module + function
        assert target == expected, f"{path.name}: {name} stands in for {target!r} but pyright checks {expected!r}"


def test_every_stand_in_of_the_app_imports() -> None:
    import function_app  # noqa: F401 - registers every trigger module's stand-ins

    loaded = lazy.load_all()
    assert {module.__name__ for module in loaded} == set(lazy.names())
    assert "blueprints.shop.board" in lazy.names()
