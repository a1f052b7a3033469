"""``VEXORA_LOG=debug|info``: see the SDK's log lines without configuring logging (as
``OPENAI_LOG`` does for openai-python).

When the variable is set, the ``vexora_async`` logger gets one stderr handler at that
level; it is added once per process, however many clients are created. Unset, nothing is
touched: the logger follows your own logging configuration.
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["ENV_VAR", "LOGGER_NAME", "configure_from_env"]

ENV_VAR = "VEXORA_LOG"
LOGGER_NAME = "vexora_async"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


class _EnvHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``VEXORA_LOG`` adds: its class tells it apart from the user's own. It
    writes to whatever ``sys.stderr`` is at the time (as ``logging.lastResort`` does), so a
    redirected stderr gets the lines."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_from_env() -> logging.Handler | None:
    """Apply ``VEXORA_LOG``; the handler it installed (or found installed), else ``None``.

    Unknown values are ignored, as ``OPENAI_LOG`` ignores them.
    """
    level = _LEVELS.get(os.environ.get(ENV_VAR, "").strip().lower())
    if level is None:
        return None
    logger = logging.getLogger(LOGGER_NAME)
    for handler in logger.handlers:
        if isinstance(handler, _EnvHandler):
            handler.setLevel(level)
            logger.setLevel(min(level, logger.getEffectiveLevel()))
            return handler
    handler = _EnvHandler()
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(min(level, logger.getEffectiveLevel()))
    return handler
