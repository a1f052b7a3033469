"""Between attrs models and the gateway's JSON: one cattrs converter and the JSON codec.

Hooks are generated once per class (hook factories) with camelCase renames, so no per-call
work decides names. Responses tolerate unknown fields, numbers where text is expected, and
both spellings the gateway uses for some fields (SPEC §5, §6).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, TypeVar, cast

import attrs
import cattrs
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .errors import MalformedResponse
from .models import CheckoutRequest, PaymentLink, PaymentState, TradeStatus
from .payout_models import Balance, Payout, PayoutState, PayoutStatus

__all__ = [
    "HAS_ORJSON",
    "checkout_fields",
    "converter",
    "dumps",
    "loads",
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
# Other spellings the gateway uses for the same response field, first one wins.
_ALIASES: dict[str, tuple[str, ...]] = {
    "paymentUrl": ("paymentLink",),
    "message": ("desc", "msg"),
    "qrString": ("payInfo",),
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
        overrides: dict[str, Any] = {
            a.name: override(rename=wire_name(a.name)) for a in attrs.fields(cls)
        }
        overrides["raw"] = override(rename=_RAW_KEY, struct_hook=lambda v, _: v)
        return make_dict_structure_fn(cls, conv, **overrides)

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


def _with_aliases(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = dict(data)
    for name, others in _ALIASES.items():
        if fields.get(name) is None:
            for other in others:
                if fields.get(other) is not None:
                    fields[name] = fields[other]
                    break
    fields[_RAW_KEY] = MappingProxyType(dict(data))
    return fields


def structure_response(data: object, cls: type[T], what: str) -> T:
    """Build ``cls`` from a response ``data`` object; any problem is a ``MalformedResponse``."""
    if type(data) is not dict and not isinstance(data, Mapping):  # a decoded body is a dict
        raise MalformedResponse(f"{what}: 'data' is not an object")
    hook = _STRUCTURE_HOOKS.get(cls) or converter.get_structure_hook(cls)
    try:
        return cast(T, hook(_with_aliases(data), cls))
    except MalformedResponse as exc:
        raise MalformedResponse(f"{what}: {exc}") from None
    except Exception as exc:  # cattrs raises KeyError/TypeError/... with detailed_validation off
        required = [a.name for a in attrs.fields(cast(Any, cls)) if a.default is attrs.NOTHING]
        missing = [wire_name(n) for n in required if data.get(wire_name(n)) is None]
        reason = f"missing {', '.join(missing)}" if missing else type(exc).__name__
        raise MalformedResponse(f"{what}: {reason}") from None


# JSON: orjson when installed (the `orjson` extra), the standard library otherwise.
try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised when the extra is absent
    _orjson = None  # type: ignore[assignment]

HAS_ORJSON = _orjson is not None


def _std_dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _std_loads(body: bytes | str) -> Any:
    return json.loads(body, parse_float=Decimal)


dumps: Callable[[Any], bytes] = _orjson.dumps if _orjson is not None else _std_dumps
loads: Callable[[bytes | str], Any] = _orjson.loads if _orjson is not None else _std_loads
