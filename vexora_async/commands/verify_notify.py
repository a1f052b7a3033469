"""``vexora-async verify-notify FILE.json``: verify and read a saved notification body."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import (
    ConfigurationError,
    MalformedNotification,
    SignatureError,
    UnknownNotificationKey,
)
from ..notify import parse_notification
from ..notify.verify import shown_keys
from .common import EXIT_CONFIG, EXIT_FAILED_ROWS, EXIT_OK, fail, print_table
from .sign import secret_from

NAME = "verify-notify"
HELP = "verify the keys and sign of a saved payment notification and show what it says"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the notification body as received (JSON)")
    parser.add_argument("--secret", help="app secret (default: VEXORA_SECRET)")
    parser.add_argument(
        "--extra-key",
        action="append",
        default=[],
        metavar="KEY",
        help="also allow this key (repeatable); other undocumented keys are refused, "
        "as with extra_keys= in the SDK",
    )


def run(args: argparse.Namespace) -> int:
    secret = secret_from(args)
    if secret is None:
        return fail("missing --secret (VEXORA_SECRET)", EXIT_CONFIG)
    try:
        body = args.file.read_bytes()
    except OSError as exc:
        return fail(f"cannot read {args.file}: {exc.strerror}", EXIT_CONFIG)
    try:
        notification = parse_notification(body, secret, extra_keys=args.extra_key)
    except ConfigurationError as exc:
        return fail(str(exc), EXIT_CONFIG)
    except UnknownNotificationKey as exc:  # the library's hint names its extra_keys= option
        return fail(
            f"not a valid notification: unknown key(s) {shown_keys(exc.keys)}: refused, as"
            " its sign could belong to another body (allow keys you expect with --extra-key"
            " KEY, once per key)",
            EXIT_FAILED_ROWS,
        )
    except (SignatureError, MalformedNotification) as exc:
        return fail(f"not a valid notification: {exc}", EXIT_FAILED_ROWS)
    print_table(
        "notification: signature valid",
        [
            ("trade number", notification.trade_no),
            ("platform trade number", notification.platform_trade_no or ""),
            ("status", str(notification.status)),
            ("amount", str(notification.amount)),
            ("success time", notification.success_time or ""),
        ],
    )
    return EXIT_OK
