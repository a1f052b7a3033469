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
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar, cast

import attrs
import cattrs
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .errors import MalformedResponse
from .frozen_init import settable_twin
from .models import CheckoutRequest, PaymentLink, PaymentState, TradeStatus, money_text
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
_ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "message": ("desc", "msg"),
        "amount": ("orderAmount",),
        "availableAmount": ("availablAmount",),  # a misspelling on some pages (SPEC §9)
    }
)
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
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        value = repr(value)  # shortest text that round-trips: what the gateway sent
    if isinstance(value, str):
        # The request side's rule (``to_money``): ASCII decimal text only, not all that
        # ``Decimal()`` takes ("1_000", Arabic-Indic or full-width digits, "NaN").
        parsed = money_text(value)
        if parsed is not None and parsed.is_finite():
            return parsed
    raise MalformedResponse("expected an amount")


def _structure_optional_decimal(value: object, _: object) -> Decimal | None:
    return None if value is None else _structure_decimal(value, _)


def _structure_status(value: object, _: object) -> TradeStatus:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
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
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return PayoutStatus.of(value)
    raise MalformedResponse("expected a status code")


_PAYOUT_RESPONSES = (Payout, PayoutState, Balance)
_RESPONSE_CLASSES = (PaymentLink, PaymentState, *_PAYOUT_RESPONSES)


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
        lambda t: t in _RESPONSE_CLASSES, structure_factory
    )
    return conv


converter = _make_converter()
_unstructure_checkout = converter.get_unstructure_hook(CheckoutRequest)


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
    checkout answer); the query's by default. A read-only mapping (``MappingProxyType``,
    as profiles give) is read once: its reader is kept for the next answer.
    """
    if type(data) is dict:  # a decoded body: the reader generated for cls and aliases
        last = _LAST_READER.get(cls)
        read = last[1] if last is not None and last[0] is aliases else _reader(cls, aliases)
        if read is not None:
            try:
                result: T = read(data)  # no cast(): a call on the hot path
            except Exception as exc:
                error = _malformed(exc, data, cls, what)
            else:
                return result
            raise error  # outside the handler: the caught error may quote the answer's data
    elif not isinstance(data, Mapping):
        raise MalformedResponse(f"{what}: 'data' is not an object")
    hook = converter.get_structure_hook(cls)
    try:
        return cast(T, hook(_with_aliases(data, _ALIASES if aliases is None else aliases), cls))
    except Exception as exc:
        error = _malformed(exc, data, cls, what)
    raise error  # (as above: no __context__ quoting the data)


def _malformed(
    exc: Exception, data: Mapping[str, Any], cls: type[Any], what: str
) -> MalformedResponse:
    if isinstance(exc, MalformedResponse):
        return MalformedResponse(f"{what}: {exc}")
    # cattrs raises KeyError/TypeError/... with detailed_validation off
    required = [a.name for a in attrs.fields(cls) if a.default is attrs.NOTHING]
    missing = [wire_name(n) for n in required if data.get(wire_name(n)) is None]
    reason = f"missing {', '.join(missing)}" if missing else type(exc).__name__
    return MalformedResponse(f"{what}: {reason}")


# -- Readers: one generated function per response class and aliases ---------------------
#
# ``structure_response`` above, for a dict, without copying it: the generated function
# resolves the aliases into locals, converts each field inline in cattrs' order (fields with
# a default first, then the required ones) and sets it on the new instance. Same
# values, same errors, in the same order as the cattrs hook over ``_with_aliases``; the
# equivalence is tested against that path (tests/test_answer_equivalence.py).

# How a value ``v`` of each field type is converted: the hooks registered on ``converter``
# with their usual case inlined. A default field must be one whose hook maps ``None`` to
# ``None`` (its default), so an absent field and a ``None`` one read alike.
_CONVERT = {
    str: "{v} if type({v}) is str else _text({v}, None)",
    str | None: "{v} if {v} is None or type({v}) is str else _text({v}, None)",
    Decimal: "_Decimal({v}) if type({v}) is int else _decimal({v}, None)",
    Decimal | None: (
        "None if {v} is None else _Decimal({v}) if type({v}) is int else _decimal({v}, None)"
    ),
}
_DEFAULT_NONE = (str | None, Decimal | None)
# Hooks that, for text, return ``type.of(text)``: the reader calls ``of`` directly.
_STATUS_HOOKS: dict[Any, Any] = {
    TradeStatus: _structure_status, PayoutStatus: _structure_payout_status
}

_Reader = Callable[[dict[str, Any]], Any]
# By class and alias steps (content); and per class the one last used with its aliases,
# whose identity (a strong reference, compared with ``is``) makes the usual lookup one get.
_READERS: dict[tuple[Any, ...], _Reader | None] = {}
_LAST_READER: dict[type[Any], tuple[object, _Reader | None]] = {}
_UNSET = object()


def _reader(cls: type[Any], aliases: Mapping[str, tuple[str, ...]] | None) -> _Reader | None:
    """The reader of ``cls`` for ``aliases`` (``None``: none can be generated)."""
    used = _ALIASES if aliases is None else aliases
    try:
        key = (cls, tuple((name, tuple(others)) for name, others in used.items()))
        read = _READERS.get(key, _UNSET)
    except Exception:  # odd aliases: the general path words their failure
        return None
    if read is _UNSET:
        if len(_READERS) >= 64:
            _READERS.clear()
        read = _READERS[key] = _make_reader(cls, key[1])
    # Kept by identity only for a mapping nobody changes; a dict is looked up by content.
    if aliases is None or type(aliases) is MappingProxyType:
        _LAST_READER[cls] = (aliases, cast("_Reader | None", read))
    return cast("_Reader | None", read)


def _make_reader(cls: type[Any], steps: tuple[tuple[Any, tuple[Any, ...]], ...]) -> _Reader | None:
    """The reader of ``cls`` with alias ``steps``, or ``None`` when ``cls`` has something this
    does not generate (the general path then reads it)."""
    if cls not in _RESPONSE_CLASSES or not all(
        type(name) is str and all(type(o) is str for o in others) for name, others in steps
    ):
        return None
    fields = attrs.fields(attrs.resolve_types(cls))
    filling = _filling_class(cls)
    if filling is None:
        return None
    wire = {a.name: wire_name(a.name) for a in fields}
    # Alias steps in order; only those whose result a field reads (maybe through another).
    needed = set(wire.values())
    live = []
    for name, others in reversed(steps):
        if name in needed:
            live.append((name, others))
            needed.update(others)
    lines = ["def read(data):"]
    local: dict[str, str] = {}  # wire name -> the local holding its value after aliasing
    for name, others in reversed(live):
        var = f"s{len(local)}"
        lines.append(f"    {var} = data.get({name!r})")
        indent = "    "
        for other in others:
            lines += [f"{indent}if {var} is None:", f"{indent}    {var} = "]
            lines[-1] += local.get(other, f"data.get({other!r})")
            indent += "    "
        local[name] = var
    namespace: dict[str, Any] = {
        "_new": object.__new__, "_filling": filling, "_cls": cls, "_proxy": MappingProxyType,
        "_text": _structure_text, "_decimal": _structure_decimal, "_Decimal": Decimal,
    }  # fmt: skip
    # cattrs' order: the fields with a default, then the required ones; first error wins.
    ordered = [a for a in fields if a.default is not attrs.NOTHING]
    ordered += [a for a in fields if a.default is attrs.NOTHING]
    # Built as ``cls(...)`` would, without its frozen __init__ (a call per attribute):
    # fill an instance of the settable subclass, then make it a ``cls``.
    lines.append("    self = _new(_filling)")
    for a in ordered:
        key = wire[a.name]
        if a.name == "raw":
            lines.append("    self.raw = _proxy(data)")
            continue
        if a.name == "timestamp":  # its own hook (epoch millis): not generated
            return None
        value = local.get(key)  # the aliased value's local, else read into ``v``
        if a.default is not attrs.NOTHING:
            if a.type not in _DEFAULT_NONE or a.default is not None:
                return None
            if value is None:
                lines.append(f"    v = data.get({key!r})")
        elif value is not None:
            lines.append(f"    if {value} is None and {key!r} not in data:")
            lines.append(f"        raise KeyError({key!r})")
        else:
            lines.append(f"    v = data[{key!r}]")
        convert = _CONVERT.get(a.type)
        if convert is None:
            if a.default is not attrs.NOTHING:
                return None
            hook = converter.get_structure_hook(a.type)
            namespace[f"_hook_{a.name}"] = hook
            namespace[f"_type_{a.name}"] = a.type
            convert = f"_hook_{a.name}({{v}}, _type_{a.name})"
            if _STATUS_HOOKS.get(a.type) is hook:  # text: ``of``, its shared values kept
                known, of = _statuses(a.type.of)
                namespace[f"_known_{a.name}"], namespace[f"_of_{a.name}"] = known, of
                convert = (
                    f"(_known_{a.name}.get({{v}}) or _of_{a.name}({{v}})) if type({{v}}) is str"
                    f" else {convert}"
                )
        lines.append(f"    self.{a.name} = " + convert.format(v=value or "v"))
    lines += ["    self.__class__ = _cls", "    return self"]
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<vexora_async reader for {cls.__name__}>", "exec"), namespace)
    read: _Reader = namespace["read"]
    read.__doc__ = source  # what it does, for debugging
    return read


def _statuses(of: Callable[[str], Any]) -> tuple[dict[str, Any], Callable[[str], Any]]:
    """A dict of the statuses ``of`` gives one shared value for (the known codes), and ``of``
    filling it: the reader looks a code up before calling ``of``, with the same result."""
    known: dict[str, Any] = {}

    def status_of(code: str) -> Any:
        status = of(code)
        if status and of(code) is status:  # shared, not made per call: always this object
            known[code] = status
        return status

    return known, status_of


def _filling_class(cls: type[Any]) -> type[Any] | None:
    """A settable twin of ``cls`` (see ``frozen_init``), or ``None`` when ``cls`` has
    converters too: an answer is built here without them."""
    if attrs.has(cls) and any(a.converter for a in attrs.fields(cls)):
        return None
    return settable_twin(cls)


def notification_structurer(
    cls: type[T],
) -> Callable[[Mapping[str, Any], Mapping[str, Any]], T]:
    """A function ``structure(fields, raw)`` building ``cls`` (an attrs notification model).

    ``fields`` are the wire-named values the model's fields are read from (the caller
    decides which numbers stay their text as sent); the model's ``raw`` gets a read-only
    view of ``raw``, every received field as decoded. Errors are cattrs' own or
    ``MalformedResponse``: the caller words them for its kind of message.
    """
    hook = make_dict_structure_fn(cls, converter, **_received_overrides(cls))

    def structure(fields: Mapping[str, Any], raw: Mapping[str, Any]) -> T:
        return hook({**fields, _RAW_KEY: MappingProxyType(dict(raw))}, cls)

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
    value (``native``). Raises ``ValueError`` when the body is not JSON or not an object, or
    nests too deeply to decode or to convert (``native`` recurses: a ~1 KB body of brackets
    would otherwise raise ``RecursionError`` here).
    """
    try:
        decoded = loads_as_sent(body)
        if not isinstance(decoded, dict):
            raise ValueError("not a JSON object")
        values: dict[str, Any] = native(decoded)
    except RecursionError:
        raise ValueError("nested too deeply") from None
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


# Made once: ``json.dumps``/``json.loads`` with any option build a new encoder or decoder
# (a Python ``__init__``) on every call, about a third of a small body's cost. Both are
# stateless between calls, as the standard library's own defaults are.
_STD_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_STD_DECODE = json.JSONDecoder(parse_float=Decimal).decode
_STD_STRICT_DECODE = json.JSONDecoder(
    parse_float=Decimal, parse_constant=_reject_constant
).decode


def _std_dumps(obj: Any) -> bytes:
    return _STD_ENCODE(obj).encode("utf-8")


def _std_loads(body: bytes | str) -> Any:
    """``json.loads(body, parse_float=Decimal)``, without a decoder per call."""
    if isinstance(body, bytes | bytearray):
        # As json.loads reads bytes: UTF-8, -16 or -32, told from the first bytes.
        return _STD_DECODE(body.decode(json.detect_encoding(body), "surrogatepass"))
    if isinstance(body, str) and not body.startswith("\ufeff"):
        return _STD_DECODE(body)
    return json.loads(body, parse_float=Decimal)  # its own error for a BOM or a wrong type


def _has_float(value: Any) -> bool:
    """Whether a decoded JSON value holds a float anywhere."""
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is float or ((kind is dict or kind is list) and _has_float(item)):
            return True
    return False


def _fast_loads(body: bytes | str) -> Any:
    # orjson reads a number with a fraction as a float, which cannot hold every amount
    # exactly (150000.00 would come back 150000.0). Such an answer is read again by the
    # standard library into Decimals, so every amount stays exact. The money is in ``data``;
    # the usual answer's ``data`` holds only text, which one C call tells. (The envelope's
    # own fields, code, msg, timestamp and success, hold no money.)
    try:
        value = _orjson.loads(body)
    except ValueError:
        # orjson refuses some valid JSON the standard library reads exactly (a number
        # past a float's range, 1E+400): read again, still refusing NaN and Infinity.
        return _STD_STRICT_DECODE(body.decode("utf-8") if isinstance(body, bytes) else body)
    if type(value) is dict:
        data = value.get("data")
        if type(data) is dict:
            try:
                "".join(data.values())  # in C: succeeds only when every value is text
            except TypeError:
                pass
            else:
                return value  # the usual answer: no number in ``data`` at all
        if not _has_float(value):
            return value
        return _std_loads(body)
    if type(value) is list and _has_float(value):
        return _std_loads(body)
    return _std_loads(body) if type(value) is float else value


dumps: Callable[[Any], bytes] = _orjson.dumps if _orjson is not None else _std_dumps
loads: Callable[[bytes | str], Any] = _fast_loads if _orjson is not None else _std_loads
