"""Every benchmark `ils bench NAME` can run imports and parses ``--help``.

A benchmark is run by hand, not by the suite, so a rename elsewhere can leave one unable even to
start; this keeps each one importable and its arguments parseable.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys

import pytest

import bench

NAMES = sorted(
    m.name
    for m in pkgutil.iter_modules(bench.__path__)
    if importlib.util.find_spec(f"bench.{m.name}") is not None
)
#: Modules of bench/ that are parts of benchmarks, not benchmarks of their own.
PARTS = {"echo_app", "lab_group", "propagation_clients", "propagation_setup", "reconcile",
         "resources", "scratch", "traffic"}  # fmt: skip


def test_every_part_named_exists() -> None:
    assert set(NAMES) >= PARTS


@pytest.mark.parametrize("name", [n for n in NAMES if n not in PARTS])
def test_benchmark_imports_and_explains_its_arguments(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert callable(module.main), f"bench.{name} has no main()"
    # `ils bench NAME ARGS` runs the module with sys.argv set; some mains also take argv
    monkeypatch.setattr(sys, "argv", [f"bench.{name}", "--help"])
    takes_argv = bool(inspect.signature(module.main).parameters)
    with pytest.raises(SystemExit) as done:
        module.main(["--help"]) if takes_argv else module.main()
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out
