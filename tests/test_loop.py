"""vexora_async._loop: uvloop when installed, unless turned off; asyncio otherwise."""

from __future__ import annotations

import asyncio
import importlib.util
import sys

import pytest

from vexora_async import _loop
from vexora_async.errors import ConfigurationError

HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_false_runs_on_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_loop.DISABLE_ENV, raising=False)
    assert _loop.run(_loop_module(), use_uvloop=False).startswith("asyncio")


@pytest.mark.parametrize("value", ["1", "true", "yes", "ON"])
def test_the_switch_turns_uvloop_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(_loop.DISABLE_ENV, value)
    assert not _loop.uvloop_wanted()
    assert _loop.loop_factory() is None
    assert _loop.run(_loop_module()).startswith("asyncio")


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off"])
def test_the_switch_left_off_wants_uvloop(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(_loop.DISABLE_ENV, value)
    assert _loop.uvloop_wanted()
    assert _loop.uvloop_wanted(False) is False  # an explicit choice beats the environment


@pytest.mark.skipif(not HAS_UVLOOP, reason="uvloop is not installed")
def test_uvloop_by_default_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_loop.DISABLE_ENV, raising=False)
    assert _loop.run(_loop_module()).startswith("uvloop")
    monkeypatch.setenv(_loop.DISABLE_ENV, "1")
    assert _loop.run(_loop_module(), use_uvloop=True).startswith("uvloop")


def test_missing_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` fail
    monkeypatch.delenv(_loop.DISABLE_ENV, raising=False)
    assert _loop.run(_loop_module()).startswith("asyncio")  # quietly asyncio when not asked
    main = _loop_module()
    with pytest.raises(ConfigurationError) as caught:
        _loop.run(main, use_uvloop=True)
    # The extra (from a clone) and the bare package: never a name the index does not have.
    assert "pip install '.[uvloop]' from a clone, or pip install uvloop" in str(caught.value)
    assert "vexora_async[" not in str(caught.value)
    assert main.cr_frame is None  # closed, so no "coroutine was never awaited" warning


def test_results_and_errors_come_back() -> None:
    async def fails() -> None:
        raise KeyError("x")

    async def answer() -> int:
        return 42

    for choice in (False, None):
        assert _loop.run(answer(), use_uvloop=choice) == 42
        with pytest.raises(KeyError):
            _loop.run(fails(), use_uvloop=choice)
