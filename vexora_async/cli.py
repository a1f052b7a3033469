"""The ``vexora-async`` console script: one subcommand per module.

A subcommand is a module with ``NAME``, ``HELP``, ``configure(parser)`` and ``run(args)``;
list it in ``COMMANDS`` (imported only when the script runs, so adding one costs nothing
elsewhere).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence
from typing import Protocol, cast

__all__ = ["COMMANDS", "Command", "build_parser", "main"]

COMMANDS: tuple[str, ...] = (
    "vexora_async.commands.demo",
    "vexora_async.commands.batch",
    "vexora_async.commands.payouts",
    "vexora_async.commands.balance",
    "vexora_async.commands.query",
    "vexora_async.commands.sign",
    "vexora_async.commands.verify_notify",
    "vexora_async.commands.sandbox",
)


class Command(Protocol):
    NAME: str
    HELP: str

    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="vexora-async",
        description="Tools for the Vexora/Paypro payment gateway SDK.",
        epilog="Exit codes: 0 ok, 1 some orders not created, 2 usage, 3 input rejected (nothing"
        " sent), 4 configuration or journal problem (nothing sent), 130 stopped by Ctrl+C.",
    )
    parser.add_argument("--version", action="version", version=f"vexora-async {__version__}")
    subcommands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        command = cast(Command, importlib.import_module(module_name))
        sub = subcommands.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        command.configure(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # A Ctrl+C during start-up (the imports take a moment) ends the command as a later one
    # does: no traceback, exit 130, nothing sent.
    early = _EarlyInterrupt()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if early.release():
            return _stopped()
        if getattr(args, "run", None) is None:
            parser.print_help(sys.stderr)
            return 2
        return int(args.run(args))
    except KeyboardInterrupt:  # between the start-up and a command's own handling
        return _stopped()
    finally:
        early.release()


class _EarlyInterrupt:
    """Until ``release()``: a Ctrl+C is noted instead of raised in the middle of an import;
    a second one raises at once (``KeyboardInterrupt``, as Python's own handler does)."""

    def __init__(self) -> None:
        self.interrupted = False
        self._installed = False
        try:
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                signal.signal(signal.SIGINT, self._note)
                self._installed = True
        except ValueError:  # not the main thread: Python's handler stays
            pass

    def _note(self, signum: int, frame: object) -> None:
        self.interrupted = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def release(self) -> bool:
        """Python's handler back; whether a Ctrl+C came meanwhile (one arriving after the
        handler is back raises ``KeyboardInterrupt`` as usual)."""
        if self._installed and signal.getsignal(signal.SIGINT) == self._note:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        self._installed = False
        return self.interrupted


def _stopped() -> int:
    print("vexora-async: stopped", file=sys.stderr)
    return 130  # EXIT_INTERRUPTED (commands.common, not imported here: start-up stays light)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
