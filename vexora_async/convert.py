"""Models as plain dicts and JSON, for logs, APIs of your own and storage.

``to_dict(model)`` gives snake_case keys (the SDK's names, not the gateway's), amounts as
exact decimal text (``"12.50"``, never a float), a status as ``{"code", "state"}``, and
enums as their values. By default personal fields (those masked in ``repr``: mobile,
email, names, address, IP, bank number) come out as ``"***"`` when set, a request's
``extra`` values as well, and ``raw`` (everything the gateway sent) is left out; pass
``reveal_personal=True`` / ``include_raw=True`` when you need them and know where they go.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs
import cattrs

from .errors import ConfigurationError
from .models import TradeStatus, _masked

__all__ = ["MASK", "to_dict", "to_json"]

MASK = "***"

_converter = cattrs.Converter()
_converter.register_unstructure_hook(Decimal, str)  # exact text, as the gateway sends it
_converter.register_unstructure_hook(
    TradeStatus, lambda status: {"code": status.code, "state": status.state.value}
)
_converter.register_unstructure_hook_func(
    lambda cls: isinstance(cls, type) and issubclass(cls, enum.Enum), lambda e: e.value
)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):  # read-only views (raw, extra) become dicts
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return _converter.unstructure(value)


def _is_personal(field: attrs.Attribute[Any]) -> bool:
    return field.repr is _masked or bool(field.metadata.get("personal"))


def to_dict(
    model: Any, *, reveal_personal: bool = False, include_raw: bool = False
) -> dict[str, Any]:
    """A plain ``dict`` of an SDK model (``PaymentLink``, ``PaymentState``,
    ``CheckoutRequest``, ``PaymentNotification``, ...), ready for ``json.dumps``."""
    if not attrs.has(type(model)):
        raise ConfigurationError(f"to_dict takes an SDK model, not {type(model).__name__}")
    result: dict[str, Any] = {}
    for field in attrs.fields(type(model)):
        name = field.name
        value = getattr(model, name)
        if name == "raw":
            if include_raw:
                result[name] = _plain(value)
            continue
        if not reveal_personal and value is not None:
            if _is_personal(field):
                result[name] = MASK
                continue
            if name == "extra" and isinstance(value, Mapping):
                result[name] = {str(k): MASK for k in value}
                continue
        result[name] = _plain(value)
    return result


def to_json(
    model: Any,
    *,
    reveal_personal: bool = False,
    include_raw: bool = False,
    indent: int | None = None,
) -> str:
    """``to_dict(model)`` as JSON text (UTF-8 characters kept as they are)."""
    return json.dumps(
        to_dict(model, reveal_personal=reveal_personal, include_raw=include_raw),
        ensure_ascii=False,
        indent=indent,
    )
