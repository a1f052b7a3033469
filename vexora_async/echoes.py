"""Payer data a gateway echoes back, masked before it reaches an error, a log or a file.

A gateway may quote what it was sent: in its ``msg`` ("invalid mobile 0812..."), in its
code, anywhere in its answer. The SDK knows what it sent, so it masks every value it sent
except the few that identify the order (``SHOWN``), as written and as a URL or JSON would
escape it, in any case, wherever an answer's text is kept: the envelope's ``code`` and
``msg`` and the body errors show (``error.response.body``). A gateway that reshapes a value
(cuts it, reformats a phone number) cannot be recognised; values shorter than
``MIN_LENGTH`` are left, as they would mask ordinary words.

Only answers that are not the usual success are masked (they become errors, log lines and
rows in files); a successful answer's ``data`` is the result and is never changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from .call import Envelope

__all__ = ["MASK", "MIN_LENGTH", "NOTHING_SENT", "SHOWN", "Echoes", "shown_code"]

MASK = "***"
MIN_LENGTH = 3
_CODE_MAX = 6  # a short all-digit code (0000, 8000) is never masked, whatever was sent
# Sent wire fields that identify the order, its money and where it goes: never personal.
# Every other field sent (personal ones, and any a profile or ``extra`` adds) is masked.
SHOWN = frozenset(
    {
        "tradeNo",
        "amount",
        "notifyUrl",
        "returnUrl",
        "channelCode",
        "wayCode",
        "bankCode",
        "bankName",
        "remark",
        "merchantNo",
        "timestamp",
        "sign",
    }
)


class Echoes:
    """The values one request sent that must not come back in what the SDK shows."""

    __slots__ = ("_built", "_pattern", "_sent")

    def __init__(self, sent: Mapping[str, Any]) -> None:
        self._sent = sent
        # Built on first use: most calls end well and never need it.
        self._built = False
        self._pattern: re.Pattern[str] | None = None

    def _compiled(self) -> re.Pattern[str] | None:
        if not self._built:
            forms: set[str] = set()
            for name, value in self._sent.items():
                if name in SHOWN or not isinstance(value, str | int) or isinstance(value, bool):
                    continue
                text = str(value)
                if len(text) < MIN_LENGTH:
                    continue
                forms.update(
                    (
                        text,
                        quote(text, safe=""),
                        quote_plus(text, safe=""),
                        json.dumps(text)[1:-1],  # as escaped inside JSON text, \u00e9 included
                        json.dumps(text, ensure_ascii=False)[1:-1],
                    )
                )
            # Longest first: a value inside another is masked with it, not half of it.
            alternatives = sorted(forms, key=len, reverse=True)
            if alternatives:
                self._pattern = re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE)
            self._built = True
        return self._pattern

    def text(self, value: str) -> str:
        """``value`` with every echoed value masked."""
        pattern = self._compiled()
        return value if pattern is None else pattern.sub(MASK, value)

    def _scalars(self, mapping: Mapping[Any, Any]) -> dict[str, Any]:
        return {
            self.text(str(k)): self.text(v) if isinstance(v, str) else v
            for k, v in mapping.items()
        }

    def body(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The envelope's body as errors show it (``ResponseInfo``: its top level and the
        top level of ``data``; anything deeper is never shown) with echoes masked."""
        shown = self._scalars(raw)
        data = raw.get("data")
        if isinstance(data, Mapping):
            shown["data"] = self._scalars(data)
        return shown

    def envelope(self, envelope: Envelope) -> Envelope:
        """``envelope`` with its code, msg and shown body masked, or itself when none of them
        echoes anything. ``data`` (what a result is read from) is kept as answered."""
        pattern = self._compiled()
        if pattern is None or not any(map(pattern.search, _shown_texts(envelope))):
            return envelope
        code = envelope.code
        if not (code.isdigit() and len(code) <= _CODE_MAX):  # a code is the gateway's word
            code = self.text(code)
        masked = Envelope(
            code,
            self.text(envelope.msg),
            envelope.data,
            envelope.http_status,
            envelope.headers,
            self.body(envelope.raw),
        )
        masked.attempts, masked.maybe_sent = envelope.attempts, envelope.maybe_sent
        return masked


NOTHING_SENT = Echoes({})  # a call that sent nothing personal (a query): nothing to mask


def _shown_texts(envelope: Envelope) -> Iterator[str]:
    yield envelope.code
    yield envelope.msg
    levels = [envelope.raw]
    data = envelope.raw.get("data")
    if isinstance(data, Mapping):
        levels.append(data)
    for level in levels:
        for key, value in level.items():
            yield str(key)
            if isinstance(value, str):
                yield value


def shown_code(code: str, sent: Mapping[str, Any]) -> str:
    """A gateway code as a log line shows it: a short all-digit code as answered, anything
    else with what ``sent`` held masked."""
    if code.isdigit() and len(code) <= _CODE_MAX:
        return code
    return Echoes(sent).text(code)
