"""The README's sections on environment configuration, per-call options, debugging and
synchronous code run as written (each Python block in a fresh interpreter, against the
sandbox it starts itself)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = (
    "Configuration from the environment",
    "Per-call options",
    "Debugging and logging",
    "Synchronous code (Django, Flask, Celery)",
)


def _blocks(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end != -1 else None]
    return re.findall(r"```python\n(.*?)```", body, re.S)


@pytest.mark.parametrize("section", SECTIONS)
def test_readme_section_runs(section: str, tmp_path: Path) -> None:
    blocks = _blocks(section)
    assert blocks, f"no Python block under {section!r}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEXORA_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for block in blocks:
        done = subprocess.run(
            [sys.executable, "-c", block], cwd=tmp_path, env=env, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip(), "every block prints what it shows"
        assert "081234567890" not in done.stdout + done.stderr  # the payer's mobile
