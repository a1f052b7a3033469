"""The commands run on uvloop when it is installed, and VEXORA_NO_UVLOOP=1 turns it off."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CODE = """
import asyncio
from vexora_async.commands.common import run_stoppable

async def which():
    return type(asyncio.get_running_loop()).__module__

print(run_stoppable(which(), "test"))
"""


@pytest.mark.parametrize(("switch", "expected"), [(None, "uvloop"), ("1", "asyncio")])
def test_commands_pick_uvloop_unless_switched_off(switch: str | None, expected: str) -> None:
    pytest.importorskip("uvloop", reason="the uvloop extra is not installed")
    env = {k: v for k, v in os.environ.items() if k != "VEXORA_NO_UVLOOP"}
    if switch is not None:
        env["VEXORA_NO_UVLOOP"] = switch
    done = subprocess.run(
        [sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split(".")[0] == expected
