"""Between attrs models and the gateway's JSON: one cattrs converter and the JSON codecs.

Hooks are generated once per class (hook factories) with camelCase renames, so no per-call
work decides names. Responses tolerate unknown fields, numbers where text is expected, and
both spellings the gateway uses for some fields (SPEC §5, §6). Every cattrs hook of the SDK
lives here, notifications' included (``notification_structurer``).

Two JSON decoders: ``loads`` (fast, numbers as ``int``/``Decimal``) for answers, and
``loads_as_sent`` (numbers kept as the exact text sent) for anything whose signature is
checked or shown, because the signature covers that text (SPEC §3).
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar, cast

import attrs
import cattrs
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .errors import MalformedResponse
from .models import CheckoutRequest, PaymentLink, PaymentState, TradeStatus
from .payout_models import Balance, Payout, PayoutState, PayoutStatus

__all__ = [
    "HAS_ORJSON",
    "JsonNumber",
    "checkout_fields",
    "converter",
    "dumps",
    "loads",
    "loads_as_sent",
    "native",
    "notification_structurer",
    "signed_object",
    "structure_response",
    "wire_name",
]

T = TypeVar("T")

# Names that are not the plain camelCase of the SDK name.
_SPECIAL_NAMES = {"platform_trade_no": "platFormTradeNo", "qr_payload": "qrString"}
# Balance (SPEC §9): the SDK's short names for the gateway's amounts.
_SPECIAL_NAMES.update(
    available="availableAmount", frozen="freezeAmount", unsettled="unsettledAmount"
)
# Other spellings the gateway uses for the same response field, first one wins. These are
# the query's and the balance's (SPEC §6, §9); a checkout answer's come from its profile
# (``ResponseShape``).
_ALIASES: Mapping[str, tuple[str, ...]] = {
    "message": ("desc", "msg"),
    "amount": ("orderAmount",),
    "availableAmount": ("availablAmount",),  # a misspelling on some pages (SPEC §9)
}
_RAW_KEY = "\x00raw"  # cannot collide with a gateway field


def wire_name(name: str) -> str:
    """The gateway's camelCase name for an SDK snake_case field name."""
    special = _SPECIAL_NAMES.get(name)
    if special is not None:
        return special
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _structure_text(value: object, _: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        return str(value)
    raise MalformedResponse(f"expected text, got {type(value).__name__}")


def _structure_optional_text(value: object, _: object) -> str | None:
    # Registered for ``str | None`` itself: no union dispatch per field and call.
    if value is None or type(value) is str:
        return value
    return _structure_text(value, _)


def _structure_decimal(value: object, _: object) -> Decimal:
    if isinstance(value, bool):
        raise MalformedResponse("expected an amount, got a boolean")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)  # shortest text that round-trips: what the gateway sent
    if isinstance(value, int | str):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            parsed = None
        if parsed is not None and parsed.is_finite():
            return parsed
    raise MalformedResponse("expected an amount")


def _structure_optional_decimal(value: object, _: object) -> Decimal | None:
    return None if value is None else _structure_decimal(value, _)


def _structure_status(value: object, _: object) -> TradeStatus:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return TradeStatus.of(value)
    raise MalformedResponse("expected a status code")


def epoch_millis() -> int:
    """Now, in epoch milliseconds: the gateway's ``timestamp`` (SPEC §2)."""
    return time.time_ns() // 1_000_000


def _structure_millis(value: object, _: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise MalformedResponse("timestamp is not epoch milliseconds")


def _received_overrides(cls: type[Any]) -> dict[str, Any]:
    """Renames for a model built from a received object: camelCase names, ``raw`` (every
    field as received, passed through) and ``timestamp`` in epoch milliseconds."""
    names = {a.name for a in attrs.fields(cls)}
    overrides: dict[str, Any] = {name: override(rename=wire_name(name)) for name in names}
    if "raw" in names:
        overrides["raw"] = override(rename=_RAW_KEY, struct_hook=lambda v, _: v)
    if "timestamp" in names:
        overrides["timestamp"] = override(struct_hook=_structure_millis)
    return overrides
def _structure_payout_status(value: object, _: object) -> PayoutStatus:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return PayoutStatus.of(value)
    raise MalformedResponse("expected a status code")


_PAYOUT_RESPONSES = (Payout, PayoutState, Balance)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=False, forbid_extra_keys=False)
    conv.register_structure_hook(str, _structure_text)
    conv.register_structure_hook(str | None, _structure_optional_text)
    conv.register_structure_hook(Decimal | None, _structure_optional_decimal)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_structure_hook(TradeStatus, _structure_status)
    conv.register_structure_hook(PayoutStatus, _structure_payout_status)

    def unstructure_factory(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
        # ``identity`` hooks are inlined by cattrs: the generated function reads attributes.
        overrides: dict[str, Any] = {
            a.name: override(rename=wire_name(a.name), unstruct_hook=identity)
            for a in attrs.fields(cls)
        }
        overrides["extra"] = override(omit=True)
        return make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **overrides)

    def structure_factory(cls: type[Any]) -> Callable[[Any, Any], Any]:
        return make_dict_structure_fn(cls, conv, **_received_overrides(cls))

    conv.register_unstructure_hook_factory(lambda t: t is CheckoutRequest, unstructure_factory)
    conv.register_structure_hook_factory(
        lambda t: t in (PaymentLink, PaymentState, *_PAYOUT_RESPONSES), structure_factory
    )
    return conv


converter = _make_converter()
_unstructure_checkout = converter.get_unstructure_hook(CheckoutRequest)
# Looked up once, not per response: the hot path calls the generated functions directly.
_STRUCTURE_HOOKS: dict[Any, Callable[[Any, Any], Any]] = {
    cls: converter.get_structure_hook(cls) for cls in (PaymentLink, PaymentState)
}


def checkout_fields(request: CheckoutRequest) -> dict[str, Any]:
    """Wire-named business fields of a request (unset ones omitted, ``extra`` merged in)."""
    fields: dict[str, Any] = _unstructure_checkout(request)
    if request.extra:
        fields.update(request.extra)
    return fields


def _with_aliases(
    data: Mapping[str, Any], aliases: Mapping[str, tuple[str, ...]]
) -> dict[str, Any]:
    fields = dict(data)
    for name, others in aliases.items():
        if fields.get(name) is None:
            for other in others:
                if fields.get(other) is not None:
                    fields[name] = fields[other]
                    break
    # ``data`` comes from decoding the body: nothing else holds it to change it, so a
    # read-only view of it (no copy) is the raw answer.
    fields[_RAW_KEY] = MappingProxyType(data) if type(data) is dict else MappingProxyType(
        dict(data)
    )
    return fields


def structure_response(
    data: object,
    cls: type[T],
    what: str,
    aliases: Mapping[str, tuple[str, ...]] | None = None,
) -> T:
    """Build ``cls`` from a response ``data`` object; any problem is a ``MalformedResponse``.

    ``aliases``: other spellings by wire name (a profile's ``response.aliases`` for a
    checkout answer); the query's by default.
    """
    if type(data) is not dict and not isinstance(data, Mapping):  # a decoded body is a dict
        raise MalformedResponse(f"{what}: 'data' is not an object")
    hook = _STRUCTURE_HOOKS.get(cls) or converter.get_structure_hook(cls)
    try:
        return cast(T, hook(_with_aliases(data, _ALIASES if aliases is None else aliases), cls))
    except MalformedResponse as exc:
        raise MalformedResponse(f"{what}: {exc}") from None
    except Exception as exc:  # cattrs raises KeyError/TypeError/... with detailed_validation off
        required = [a.name for a in attrs.fields(cast(Any, cls)) if a.default is attrs.NOTHING]
        missing = [wire_name(n) for n in required if data.get(wire_name(n)) is None]
        reason = f"missing {', '.join(missing)}" if missing else type(exc).__name__
        raise MalformedResponse(f"{what}: {reason}") from None


def notification_structurer(cls: type[T]) -> Callable[[Mapping[str, Any]], T]:
    """A function building ``cls`` (an attrs notification model) from its received fields.

    The fields are the wire-named, decoded values (numbers as ``int``/``Decimal``); the
    model's ``raw`` gets a read-only view of all of them. Errors are cattrs' own or
    ``MalformedResponse``: the caller words them for its kind of message.
    """
    hook = make_dict_structure_fn(cls, converter, **_received_overrides(cls))

    def structure(fields: Mapping[str, Any]) -> T:
        return hook({**fields, _RAW_KEY: MappingProxyType(dict(fields))}, cls)

    return structure


# -- JSON as sent: for signatures --------------------------------------------------------


class JsonNumber(str):
    """A JSON number as the text it was sent as.

    The signature covers that text (SPEC §3), which no ``float`` and not every ``Decimal``
    reproduces: ``1.0E7``, ``1e7``, ``10000000.00``, ``-0`` and a 40-digit integer are each
    signed as written. Being a ``str``, it signs as itself; ``native`` gives its value.
    """

    __slots__ = ()


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    fields = dict(pairs)
    if len(fields) != len(pairs):
        # With a key twice it is unclear which value was signed.
        raise ValueError("duplicate key")
    return fields


def loads_as_sent(body: bytes | str) -> Any:
    """Decode JSON with every number kept as its text (``JsonNumber``).

    Refuses what has no single reading (a key twice, ``NaN``/``Infinity``); a UTF-8 byte
    order mark is skipped. Raises ``ValueError`` (``UnicodeDecodeError`` and
    ``JSONDecodeError`` are ones) or ``RecursionError`` for absurd nesting.
    """
    text = body.decode("utf-8-sig") if isinstance(body, bytes) else body.removeprefix("\ufeff")
    return json.loads(
        text,
        parse_int=JsonNumber,
        parse_float=JsonNumber,
        parse_constant=_reject_constant,
        object_pairs_hook=_unique_keys,
    )


def _number(text: str) -> int | Decimal:
    if text.lstrip("-").isdigit():
        try:
            return int(text)
        except ValueError:  # beyond int's conversion limit: still exact as a Decimal
            pass
    return Decimal(text)


def native(value: Any) -> Any:
    """``loads_as_sent`` output with numbers as values: ``int`` when written without a
    fraction or exponent, ``Decimal`` otherwise (never ``float``)."""
    if isinstance(value, JsonNumber):
        return _number(value)
    if isinstance(value, dict):
        return {key: native(item) for key, item in value.items()}
    if isinstance(value, list):
        return [native(item) for item in value]
    return value


def signed_object(body: bytes | str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A JSON object body as signed and as values.

    The first dict is what the signature covers: top-level numbers as the text sent (nested
    values, which this gateway never sends, as values). The second has every number as a
    value (``native``). Raises ``ValueError`` when the body is not JSON or not an object.
    """
    try:
        decoded = loads_as_sent(body)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(decoded, dict):
        raise ValueError("not a JSON object")
    values: dict[str, Any] = native(decoded)
    signed = {
        key: item if isinstance(item, JsonNumber) else values[key]
        for key, item in decoded.items()
    }
    return signed, values


# JSON: orjson when installed (the `orjson` extra), the standard library otherwise. Imported
# by name so that type checking passes with or without the extra installed.
def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:  # pragma: no cover - exercised when the extra is absent
        return None


_orjson: Any = _optional("orjson")

HAS_ORJSON = _orjson is not None


def _std_dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _std_loads(body: bytes | str) -> Any:
    return json.loads(body, parse_float=Decimal)


dumps: Callable[[Any], bytes] = _orjson.dumps if _orjson is not None else _std_dumps
loads: Callable[[bytes | str], Any] = _orjson.loads if _orjson is not None else _std_loads
