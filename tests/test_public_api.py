"""The package's public names: listed once, all importable, and importing stays cheap."""

from __future__ import annotations

import subprocess
import sys

import vexora_async


def test_every_public_name_resolves() -> None:
    names = vexora_async.__all__
    assert "VexoraClient" in names and "Middleware" in names and "Outcome" in names
    for name in names:
        assert getattr(vexora_async, name) is not None, name
    assert set(names) <= set(dir(vexora_async))


def test_import_is_lazy() -> None:
    code = "import sys, vexora_async; print('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_notify_exports_the_errors_parse_notification_raises() -> None:
    import vexora_async.errors as errors
    import vexora_async.notify as notify

    for name in ("SignatureError", "MalformedNotification", "UnknownNotificationKey",
                 "AmbiguousNotification"):  # fmt: skip
        assert name in notify.__all__, name
        assert getattr(notify, name) is getattr(errors, name)  # the same class, not a copy
    for name in notify.__all__:
        assert getattr(notify, name) is not None, name
