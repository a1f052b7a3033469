"""A cheaper ``__init__`` for the frozen attrs classes users build by the thousand.

attrs' frozen ``__init__`` writes each field through ``object.__setattr__``: a call per
field, about 1.2k CPU instructions each, and ``CheckoutRequest`` has 17 fields.
``cheap_init(cls)`` gives ``cls`` an ``__init__`` that turns the new object into a settable
twin of ``cls`` (same slots), writes the fields as ordinary attributes and turns it back:
the same object, with attrs' own defaults and converters (read from ``attrs.fields``), for
about half the instructions. The object is frozen again before anyone else sees it.

``settable_twin`` is that twin class; ``wire`` uses it to build answers the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["ATTRS_INIT", "cheap_init", "positional_maker", "settable_twin"]

T = TypeVar("T")

_FACTORY: type = type(attrs.Factory(list))

# Each class given a cheap __init__ -> the one attrs generated (the reference for tests).
ATTRS_INIT: dict[type[Any], Callable[..., None]] = {}


def settable_twin(cls: type[T]) -> type[T] | None:
    """A subclass of ``cls`` with the same slots whose attributes can be set, or ``None``
    when ``cls`` is not a slotted attrs class whose ``__init__`` only sets its fields (with
    converters or not): no hook, no validator, no slot of its own, no renamed argument."""
    if not attrs.has(cls) or "__slots__" not in cls.__dict__:
        return None
    fields = attrs.fields(cls)
    slots = {
        slot for c in cls.__mro__ for slot in c.__dict__.get("__slots__", ())
    } - {"__weakref__"}
    if (
        slots != {a.name for a in fields}
        or any(a.validator or not a.init or a.kw_only or a.alias != a.name for a in fields)
        or any(hasattr(cls, hook) for hook in ("__attrs_pre_init__", "__attrs_post_init__"))
    ):  # fmt: skip
        return None
    # Same layout (no slot added), so CPython allows assigning ``__class__`` between them.
    # Both methods of the setattr slot are object's, so setting is the plain C one.
    namespace = {
        "__slots__": (),
        "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__,
    }
    return type(f"_Settable{cls.__name__}", (cls,), namespace)


def cheap_init(cls: type[T]) -> type[T]:
    """Give the frozen attrs class ``cls`` the cheaper ``__init__`` (a class decorator,
    applied over ``@attrs.frozen``). Refuses a class it cannot build exactly as attrs does."""
    twin = settable_twin(cls)
    if twin is None or any(
        isinstance(a.default, _FACTORY) or isinstance(a.converter, attrs.Converter)
        for a in attrs.fields(cls)  # type: ignore[arg-type]  # (an attrs class, checked)
    ):
        raise TypeError(f"cheap_init cannot build {cls.__name__} as attrs does")
    original = cls.__init__
    namespace: dict[str, Any] = {
        "_cls": cls, "_twin": twin, "_attrs_init": original, "_set": object.__setattr__,
    }  # fmt: skip
    params, sets = [], []
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    for a in fields:
        if a.default is attrs.NOTHING:
            params.append(a.name)
        else:
            namespace[f"_default_{a.name}"] = a.default
            params.append(f"{a.name}=_default_{a.name}")
        value = a.name
        if a.converter is not None:
            namespace[f"_convert_{a.name}"] = a.converter
            value = f"_convert_{a.name}({a.name})"
        sets.append(f"        self.{a.name} = {value}")
    names = ", ".join(a.name for a in fields)
    source = "\n".join([
        f"def __init__(self, {', '.join(params)}):",
        "    if type(self) is not _cls:  # a subclass: attrs' own __init__, untouched",
        f"        _attrs_init(self, {names})",
        "        return",
        "    _set(self, '__class__', _twin)",
        "    try:",
        *sets,
        "    finally:",
        "        self.__class__ = _cls",
    ])  # fmt: skip
    exec(compile(source, f"<cheap_init {cls.__qualname__}>", "exec"), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = original.__doc__
    init.__annotations__ = dict(getattr(original, "__annotations__", {}))
    ATTRS_INIT[cls] = original
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def positional_maker(cls: type[T]) -> Callable[..., T]:
    """A function building ``cls`` from every field's value in order, for the SDK's own hot
    loops (``cls(...)`` stays the public way): a new settable twin, filled, turned into a
    ``cls``, with no ``__init__`` call and one class change. Converters are applied."""
    twin = settable_twin(cls)
    if twin is None or cls not in ATTRS_INIT:
        raise TypeError(f"positional_maker needs a cheap_init class, not {cls.__name__}")
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"_cls": cls, "_twin": twin, "_new": object.__new__}
    sets = []
    for a in fields:
        value = a.name
        if a.converter is not None:
            namespace[f"_convert_{a.name}"] = a.converter
            value = f"_convert_{a.name}({a.name})"
        sets.append(f"    self.{a.name} = {value}")
    source = "\n".join([
        f"def make({', '.join(a.name for a in fields)}):",
        "    self = _new(_twin)",
        *sets,
        "    self.__class__ = _cls",
        "    return self",
    ])  # fmt: skip
    exec(compile(source, f"<positional_maker {cls.__qualname__}>", "exec"), namespace)
    make: Callable[..., T] = namespace["make"]
    return make
