"""Payer data a gateway echoes back, masked before it reaches an error, a log or a file.

A gateway may quote what it was sent: in its ``msg`` ("invalid mobile 0812..."), in its
code, in a header, anywhere in its answer. The SDK knows what it sent, so it masks every
value it sent except the few that identify the order (``SHOWN``): as written, trimmed,
upper-cased or case-folded, and each of those as a URL, JSON or HTML would escape it,
wherever an answer's text is kept (the envelope's ``code`` and ``msg``, the body and
headers errors show, ``.known``/``.reason``, log lines). Masking comes before the SDK
cuts a long ``msg``. A gateway that reshapes a value (cuts it, reformats a phone number)
cannot be recognised; values shorter than ``MIN_LENGTH`` are left, as they would mask
ordinary words.

Masking is for what is shown, never for what is decided: outcomes are read from the answer
as it came. A successful answer's ``data`` is the result and is never changed.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from .call import Envelope
from .envelope import clean_gateway_text

if TYPE_CHECKING:
    from .responses import ResponseInfo

__all__ = ["MASK", "MIN_LENGTH", "NOTHING_SENT", "SHOWN", "Echoes", "shown_code"]

MASK = "***"
MIN_LENGTH = 3
_CODE_MAX = 6  # a short all-digit code (0000, 8000) is never masked, whatever was sent
_URI_SAFE = "-_.!~*'()"  # what JavaScript's encodeURIComponent leaves as it is
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



def _spellings(text: str) -> set[str]:
    """How a gateway may write ``text`` back: trimmed, in another case, escaped."""
    bases = {text, text.strip(), text.upper(), text.casefold()}
    forms: set[str] = set()
    for base in bases:
        escaped_html = html.escape(base)
        forms.update(
            (
                base,
                quote(base, safe=""),
                quote(base, safe=_URI_SAFE),
                quote_plus(base, safe=""),
                json.dumps(base)[1:-1],  # as escaped inside JSON text, \u00e9 included
                json.dumps(base, ensure_ascii=False)[1:-1],
                escaped_html,
                escaped_html.replace("&#x27;", "&#39;"),
            )
        )
    return {form for form in forms if len(form) >= MIN_LENGTH}


class Echoes:
    """The values one request sent that must not come back in what the SDK shows."""

    __slots__ = ("_pattern", "_sent", "_values")

    def __init__(self, sent: Mapping[str, Any]) -> None:
        self._sent = sent
        # Both made on first use: most calls end well and never need them.
        self._values: tuple[str, ...] | None = None  # trimmed and case-folded
        self._pattern: re.Pattern[str] | None = None

    def _sent_values(self) -> tuple[str, ...]:
        if self._values is None:
            self._values = tuple(
                {
                    text.strip().casefold()
                    for name, value in self._sent.items()
                    if name not in SHOWN and isinstance(value, str | int)
                    and not isinstance(value, bool)
                    and len((text := str(value)).strip()) >= MIN_LENGTH
                }
            )  # fmt: skip
        return self._values

    def _mentioned(self, texts: Iterable[str]) -> bool:
        """Whether any sent value is in ``texts``, in any spelling the pattern masks. A
        cheap look first: the pattern, dozens of spellings per value, costs half a
        millisecond to build, and most refusals quote nothing."""
        values = self._sent_values()
        if not values:
            return False
        text = "\n".join(texts)
        read = [variant.casefold() for variant in _unescapings(text)]
        return any(value in variant for value in values for variant in read)

    def _compiled(self) -> re.Pattern[str]:
        if self._pattern is None:
            forms: set[str] = set()
            for name, value in self._sent.items():
                if name in SHOWN or not isinstance(value, str | int) or isinstance(value, bool):
                    continue
                text = str(value)
                if len(text.strip()) >= MIN_LENGTH:
                    forms |= _spellings(text)
            # Longest first: a value inside another is masked with it, not half of it.
            alternatives = sorted(forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE)
        return self._pattern

    def text(self, value: str) -> str:
        """``value`` with every echoed value masked."""
        if not self._mentioned((value,)):
            return value
        return self._compiled().sub(MASK, value)

    def _scalar(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if type(value) is int and self.text(str(value)) != str(value):
            return MASK  # a number the request sent as text, echoed as a number
        return value

    def _scalars(self, mapping: Mapping[Any, Any]) -> dict[str, Any]:
        return {self.text(str(k)): self._scalar(v) for k, v in mapping.items()}

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """``headers`` (names lower-cased) with echoes masked in their values."""
        return {str(name).lower(): self.text(str(value)) for name, value in headers.items()}

    def info(self, info: ResponseInfo | None) -> ResponseInfo | None:
        """An error's ``response`` with echoes masked in the headers and body it shows."""
        if info is None or not self._mentioned(_info_texts(info)):
            return info
        body = None if info.body is None else self.body(info.body)
        return type(info)(info.status, self.headers(info.headers), body)

    def body(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The envelope's body as errors show it (``ResponseInfo``: its top level and the
        top level of ``data``; anything deeper is never shown) with echoes masked."""
        shown = self._scalars(raw)
        data = raw.get("data")
        if isinstance(data, Mapping):
            shown["data"] = self._scalars(data)
        return shown

    def envelope(self, envelope: Envelope) -> Envelope:
        """``envelope`` with its code, msg, shown body and headers masked, or itself when
        none of them echoes anything. ``data`` (what a result is read from) is kept."""
        if not self._mentioned(_shown_texts(envelope)):
            return envelope
        code = envelope.code
        if not (code.isdigit() and len(code) <= _CODE_MAX):  # a code is the gateway's word
            code = self.text(code)
        sent_msg = envelope.raw.get("msg")  # as answered: masked before it is cut
        msg = clean_gateway_text(self.text(sent_msg if isinstance(sent_msg, str) else envelope.msg))
        masked = Envelope(
            code,
            msg,
            envelope.data,
            envelope.http_status,
            self.headers(envelope.headers),
            self.body(envelope.raw),
        )
        masked.attempts, masked.maybe_sent = envelope.attempts, envelope.maybe_sent
        return masked


NOTHING_SENT = Echoes({})  # a call that sent nothing personal (a query): nothing to mask


def _shown_texts(envelope: Envelope) -> Iterator[str]:
    yield envelope.code
    yield envelope.msg
    yield from _body_texts(envelope.raw)
    yield from map(str, envelope.headers.values())


def _info_texts(info: ResponseInfo) -> Iterator[str]:
    yield from map(str, info.headers.values())
    if info.body is not None:
        yield from _body_texts(info.body)


def _body_texts(raw: Mapping[str, Any]) -> Iterator[str]:
    """What ``body`` shows of an envelope: its top level and the top level of ``data``."""
    levels = [raw]
    data = raw.get("data")
    if isinstance(data, Mapping):
        levels.append(data)
    for level in levels:
        for key, value in level.items():
            yield str(key)
            if isinstance(value, str | int):
                yield str(value)


_JSON_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|["\\/bfnrt])')
_JSON_SIMPLE = {
    '"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
}  # fmt: skip


def _unescapings(text: str) -> set[str]:
    """``text`` as written and with each escaping a gateway may use undone (URL, with or
    without "+" for space; HTML; JSON): one at a time, as each spelling uses one."""
    found = {text, unquote(text), unquote_plus(text), html.unescape(text)}
    if "\\" in text:
        plain = _JSON_ESCAPE.sub(
            lambda m: chr(int(m[1][1:], 16)) if m[1][0] == "u" else _JSON_SIMPLE[m[1]], text
        )
        # A character beyond the BMP is escaped as two surrogates: join them again.
        found.add(plain.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass"))
    return found


def shown_code(code: str, sent: Mapping[str, Any]) -> str:
    """A gateway code as a log line shows it: a short all-digit code as answered, anything
    else with what ``sent`` held masked."""
    if code.isdigit() and len(code) <= _CODE_MAX:
        return code
    return Echoes(sent).text(code)
