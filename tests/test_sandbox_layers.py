"""The sandbox's modules import in one direction (issue 17 item 5): read from their source."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import vexora_async.sandbox

PACKAGE = Path(vexora_async.sandbox.__file__).parent


def _imports(path: Path) -> set[str]:
    """Modules imported at any level of a file, as absolute-ish names (``.x`` -> ``sandbox.x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 1:
                found.add(f"sandbox.{base}" if base else "sandbox")
            elif node.level == 2:
                found.add(f"vexora_async.{base}")
            else:
                found.add(base)
    return found


def test_the_gateway_knows_nothing_of_http_serving_or_the_client() -> None:
    imported = _imports(PACKAGE / "gateway.py")
    assert not {m for m in imported if m.startswith("aiohttp")}
    assert "vexora_async.client" not in imported
    assert not imported & {"sandbox.app", "sandbox.server", "sandbox.cashier", "commands.sandbox"}


def test_sandbox_modules_form_no_cycle() -> None:
    graph = {
        f"sandbox.{path.stem}": {m for m in _imports(path) if m.startswith("sandbox.")}
        for path in PACKAGE.glob("*.py")
        if path.stem != "__init__"
    }
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover - the failure message
        raise AssertionError(f"import cycle: {exc.args[1]}") from None
    position = order.index
    assert position("sandbox.gateway") < position("sandbox.app") < position("sandbox.server")
    assert position("sandbox.ledger") < position("sandbox.cashier")
