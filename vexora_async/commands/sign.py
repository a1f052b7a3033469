"""``vexora-async sign FILE.json``: the canonical string and sign of a body, for "sign error"
debugging. The secret is shown as ``<secret>``; a ``sign`` in the file is checked."""

from __future__ import annotations

import argparse
import hmac
import os
from pathlib import Path
from typing import Any

from ..signing import masked_canonical_string, sign
from ..wire import signed_object
from .common import EXIT_CONFIG, EXIT_FAILED_ROWS, EXIT_OK, fail

NAME = "sign"
HELP = "show the canonical string (secret masked) and sign of a JSON body"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="a JSON object: a request or callback body")
    parser.add_argument("--secret", help="app secret (default: VEXORA_SECRET)")


def load_object(path: Path) -> dict[str, Any]:
    """A JSON object with numbers kept as the text written (they are signed as that text:
    ``1.0E7`` stays ``1.0E7``), decoded as notifications are (``wire.signed_object``)."""
    try:
        return signed_object(path.read_bytes())[0]
    except ValueError:
        raise ValueError("the file must hold one JSON object") from None


def secret_from(args: argparse.Namespace) -> str | None:
    return args.secret or os.environ.get("VEXORA_SECRET") or None


def run(args: argparse.Namespace) -> int:
    secret = secret_from(args)
    if secret is None:
        return fail("missing --secret (VEXORA_SECRET)", EXIT_CONFIG)
    try:
        fields = load_object(args.file)
    except (OSError, ValueError) as exc:
        return fail(f"cannot read {args.file}: {exc}", EXIT_CONFIG)
    expected = sign(fields, secret)
    print(f"canonical: {masked_canonical_string(fields)}")
    print(f"sign:      {expected}")
    given = fields.get("sign")
    if given is None:
        return EXIT_OK
    if isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode()):
        print("the file's sign matches")
        return EXIT_OK
    print("the file's sign does NOT match: check the secret, empty fields and number formats")
    return EXIT_FAILED_ROWS
