"""The gateway's signature rule (SPEC §3): sorted ``key=value`` pairs, secret appended, MD5.

Works on the field dict exactly as it is (or was) sent, so requests and callbacks share it.

The pairs are joined with no separator, so a sign proves a canonical string, not a body:
``{"tradeNo": "INV7zz", "wayCode": "DANA"}`` and ``{"tradeNo": "INV7", "zzwayCode": "DANA"}``
share one. A received body pins down its meaning only when its keys come from a known set
and no value could be re-cut into one of them: ``verify(..., keys=...)`` checks both
(``unknown_keys``, ``recut_key``).
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any, Protocol

from .errors import ConfigurationError, ValidationError, Violation

__all__ = [
    "canonical_string",
    "check_key_names",
    "masked_canonical_string",
    "recut_key",
    "sign",
    "unknown_keys",
    "verify",
    "wire_text",
]

SIGN_FIELD = "sign"


def wire_text(value: object) -> str:
    """The text a JSON value is signed as: its form on the wire, unquoted."""
    if isinstance(value, str):
        # A subclass (an Enum's member, say) is signed as its text, as JSON sends it, not
        # as its own __str__/__format__ would write it.
        return value if type(value) is str else str.__str__(value)
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)  # (the digits, whatever a subclass's __str__ says)
    if isinstance(value, Decimal):
        # Decimal keeps the digits it was parsed from ("10000.50" stays "10000.50").
        return format(value, "f")
    if isinstance(value, float):
        # Only reachable for callbacks parsed without Decimal: repr is the shortest round-trip.
        return repr(value)
    # Nested objects do not occur on this gateway; sign their plain text form.
    return str(value)


def canonical_string(fields: Mapping[str, object]) -> str:
    """``k1=v1k2=v2...`` over every field but ``sign``, empty and null values dropped."""
    build = _LATEST.get(len(fields)) if type(fields) is dict else None
    if build is None:
        return _after_plan(fields, None)
    try:
        text = build(fields)
    except Exception:  # a value without text: the plain rule raises what it always did
        return _plain_string(fields)
    return text if text is not None else _after_plan(fields, build)


def _after_plan(fields: Mapping[str, object], tried: _Build | None) -> str:
    """The canonical string when the latest plan for this size (``tried``) had another shape."""
    if type(fields) is dict:
        text = _replan(fields, tried)
        if text is not None:
            return text
    return _plain_string(fields)


def _plain_string(fields: Mapping[str, object]) -> str:
    """The rule for every input; the plans below only ever return what this returns."""
    parts: list[str] = []
    for key in sorted(fields):
        value = fields[key]
        if type(value) is not str:  # most values are text already: no conversion call
            if value is None:
                continue
            value = wire_text(value)
        if value and key != SIGN_FIELD:
            parts.append(f"{key if type(key) is str else wire_text(key)}={value}")
    return "".join(parts)


# -- the fast path: one generated function per shape of dict -------------------------------
#
# A client signs dicts of a few shapes over and over: the same keys in the same order, each
# value text or an int (or None). For such a shape (keys in insertion order, each value's
# exact type) a small function is generated when the shape comes a second time (a body with
# keys of its own, as a forged callback may have, costs no code), e.g. for
# {"tradeNo": str, "amount": int}:
#
#     def build(f, T=type, S=str, I=int, E="", K0=K0, K1=K1):  # defaults: fast locals
#         k0, k1, = f
#         v0, v1, = f.values()
#         if not (k0 is K0 and k1 is K1):
#             if not (T(k0) is S and T(k1) is S and (k0, k1,) == KEYS):
#                 return None  # not its shape: another plan may fit
#         if T(v0) is S and T(v1) is I:
#             if v0:
#                 return f"amount={v1}tradeNo={v0}"
#             return f"amount={v1}{Q0 if v0 else E}{v0}"  # an empty text's pair left out
#         return None
#
# For a dict of its shape it returns what _plain_string returns, for any other dict None:
# keys are checked to be the plan's (the same objects, or equal exact str), values to be of
# exactly the planned type (a None is left out, an empty text too). For exact str and int
# the f-string's text is wire_text's. Any other type (bool, Decimal, float, a str or int
# subclass) or a non-text key never gets a plan: the plain rule decides, errors included.
# Keys enter the source only when made of [A-Za-z0-9_]; all are bound as constants too
# (K: the key, Q: the key and "=").
# ``sign`` is checked to be text or None (the plain rule turns it into text before leaving
# it out, and may fail there) and left out.

_Build = Callable[[Mapping[Any, Any]], "str | None"]
_PLANS: dict[tuple[tuple[str, ...], tuple[type, ...]], _Build | None] = {}  # None: seen once
_LATEST: dict[int, _Build] = {}  # the plan last used for dicts of each size
_MAX_PLANS = 64  # callback bodies choose their own keys: keep the cache small
_MAX_KEYS = 48
_NONE = type(None)


def _unseen(fields: Mapping[Any, Any]) -> str | None:
    return None  # a marker, never called


_UNSEEN: _Build = _unseen


def _replan(fields: Mapping[Any, Any], tried: _Build | None) -> str | None:
    """Find or make the plan for ``fields``'s shape and run it; None when it has none."""
    keys = tuple(fields)
    kinds = tuple(map(type, fields.values()))
    if not 0 < len(keys) <= _MAX_KEYS or not all(type(key) is str for key in keys):
        return None
    for key, kind in zip(keys, kinds, strict=True):
        if not (kind is str or kind is _NONE or (kind is int and key != SIGN_FIELD)):
            return None
    shape = (keys, kinds)
    build = _PLANS.get(shape, _UNSEEN)
    if build is None:  # seen once before: a shape that recurs, worth its code
        build = _PLANS[shape] = _compile(keys, kinds)
    elif build is _UNSEEN:  # a shape seen once (a body with its own keys) costs no code
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
            _LATEST.clear()
        _PLANS[shape] = None
        return None
    _LATEST[len(keys)] = build
    if build is tried:
        return None  # it has just said no
    try:
        return build(fields)
    except Exception:
        return None


def _compile(keys: tuple[str, ...], kinds: tuple[type, ...]) -> _Build:
    """The generated function for one shape (see above)."""
    n = len(keys)
    ks = ", ".join(f"k{i}" for i in range(n))
    vs = ", ".join(f"v{i}" for i in range(n))
    same = " and ".join(f"k{i} is K{i}" for i in range(n))
    key_defaults = ", ".join(f"K{i}=K{i}" for i in range(n))
    exact = " and ".join(f"T(k{i}) is S" for i in range(n))
    types = " and ".join(
        f"v{i} is None" if kinds[i] is _NONE else f"T(v{i}) is {'S' if kinds[i] is str else 'I'}"
        for i in range(n)
    )
    signed = sorted(
        (i for i in range(n) if keys[i] != SIGN_FIELD and kinds[i] is not _NONE),
        key=keys.__getitem__,
    )
    full = " and ".join(f"v{i}" for i in signed if kinds[i] is str) or "True"
    full_text = "".join(
        (f"{keys[i]}=" if _PLAIN_KEY.fullmatch(keys[i]) else f"{{Q{i}}}") + f"{{v{i}}}"
        for i in signed
    )
    # The same with each text's pair left out when the text is empty.
    gaps_text = "".join(
        (f"{{Q{i} if v{i} else E}}" if kinds[i] is str else f"{{Q{i}}}") + f"{{v{i}}}"
        for i in signed
    )
    source = "\n".join(
        [
            f"def plan({', '.join(f'K{i}, Q{i}' for i in range(n))}, KEYS):",
            f"    def build(f, T=type, S=str, I=int, E='', {key_defaults}):",
            f"        {ks}, = f",
            f"        {vs}, = f.values()",
            f"        if not ({same}):",
            f"            if not ({exact} and ({ks},) == KEYS):",
            "                return None",
            f"        if {types}:",
            f"            if {full}:",
            f"                return f\"{full_text}\"",
            f"            return f\"{gaps_text}\"",
            "        return None",
            "    return build",
        ]
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<vexora_async.signing plan>", "exec"), namespace)
    constants = [text for key in keys for text in (key, f"{key}=")]
    build: _Build = namespace["plan"](*constants, keys)
    return build


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_]+")


# Where a secret could leak: an exception raised while signing. ``str.encode`` puts the
# whole text in ``UnicodeEncodeError.object``, and every frame an exception passes through
# keeps its locals (error trackers record them). So the secret is encoded on its own, the
# fields are encoded in a frame that never sees the secret, and a failure there becomes a
# data-free ``ValidationError`` raised only after the secret is out of scope.


def _secret_bytes(secret: str | bytes) -> bytes | None:
    """The secret as UTF-8 (cached per secret: a client signs with one), or None."""
    if isinstance(secret, bytes):
        return secret
    if not isinstance(secret, str):
        return None
    cached = _SECRETS.get(secret)
    if cached is None:
        try:
            cached = secret.encode("utf-8")
        except UnicodeEncodeError:
            return None
        if len(_SECRETS) < 64:
            _SECRETS[secret] = cached
    return cached


_SECRETS: dict[str, bytes] = {}

class _Digest(Protocol):
    def hexdigest(self) -> str: ...


def _pick_md5() -> Callable[[bytes], _Digest]:
    """CPython's own MD5 when the build has it: the same digest as OpenSSL's, for about a
    third of the per-call cost (no EVP lookup, context copy or cleanup per call)."""
    try:
        builtin: Callable[[bytes], _Digest] = importlib.import_module("_md5").md5
    except ImportError:  # a build without it (some FIPS builds): OpenSSL's, as before
        return partial(hashlib.md5, usedforsecurity=False)
    return builtin


_md5 = _pick_md5()


def _canonical_bytes(fields: Mapping[str, object]) -> bytes | None:
    """The canonical string as UTF-8, or None when a key or value cannot be signed."""
    try:
        return canonical_string(fields).encode("utf-8")
    except Exception:  # a lone surrogate, or a value whose text cannot be made
        return None


def _unsignable(fields: Mapping[str, object]) -> list[Violation]:
    """Which fields could not be signed, by a name safe to show (never a value)."""
    found: list[Violation] = []
    for key in fields:
        try:
            if _canonical_bytes({key: fields[key]}) is not None:
                continue
        except Exception:
            pass
        name = key if isinstance(key, str) and key.isprintable() and key.isascii() else "<key>"
        hint = "text must be valid Unicode (no lone surrogates)"
        found.append(Violation(name, "not_signable", hint))
    return found or [Violation("<fields>", "not_signable", "the fields cannot be signed")]


def sign(fields: Mapping[str, object], secret: str | bytes) -> str:
    """The lowercase hex MD5 of the canonical string followed by the secret.

    Raises ``ValidationError`` (rule ``not_signable``) when a field cannot be encoded, and
    ``ConfigurationError`` for an unusable secret; neither, nor any frame it passes
    through, holds the secret.
    """
    key = _SECRETS.get(secret) if type(secret) is str else None
    if key is None:
        key = _secret_bytes(secret)
    try:
        # canonical_string, inlined: the latest plan for this size first
        build = _LATEST.get(len(fields)) if type(fields) is dict else None
        text = build(fields) if build is not None else None
        payload: bytes | None = (text if text is not None else _after_plan(fields, build)).encode()
    except Exception:  # a lone surrogate, or a value whose text cannot be made: the error
        payload = text = None  # (and the text) is dropped here, before anything is raised
    if key is None or payload is None:
        # Nothing secret or personal stays in this frame's locals once anything is raised.
        found = _unsignable(fields) if payload is None else None
        del secret, key, fields, payload, text
        if found is not None:
            raise ValidationError(found) from None
        raise ConfigurationError("the secret must be text that can be encoded as UTF-8")
    return _md5(payload + key).hexdigest()


def verify(
    fields: Mapping[str, object], secret: str, *, keys: Collection[str] | None = None
) -> bool:
    """True when ``fields["sign"]`` is the signature of the other fields (constant time).

    The comparison is exact: the gateway sends lowercase hex, so an upper-cased copy is a
    different (and rejected) value. With ``keys`` (the keys this kind of body may have,
    ``sign`` included) a body is also refused when it has another key or a value that could
    be re-cut into one (``recut_key``): then no other acceptable body shares its sign.
    Without ``keys`` the sign proves only the canonical string (see the module doc).
    """
    if keys is not None and (unknown_keys(fields, keys) or recut_key(fields, keys)):
        return False
    given = fields.get(SIGN_FIELD)
    if not isinstance(given, str) or not given:
        return False
    try:
        expected = sign(fields, secret)
    except ValidationError:
        return False  # text that cannot be encoded was never signed by the gateway
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("ascii"))


def masked_canonical_string(fields: Mapping[str, object]) -> str:
    """The canonical string with ``<secret>`` where the secret goes, for debugging output."""
    return canonical_string(fields) + "<secret>"


# -- where a sign cannot pin down a body (SPEC §7) -----------------------------------------


def check_key_names(keys: Iterable[str]) -> frozenset[str]:
    """``keys`` as a set, refusing names that would break the re-cut argument below.

    A key must be non-empty text without ``=``: the first ``=`` of a canonical string must
    end the first key. Raises ``ValueError`` naming the bad key.
    """
    if isinstance(keys, str):
        raise ValueError("keys must be a collection of names, not one string")
    names = frozenset(keys)
    for name in names:
        if not isinstance(name, str) or not name or "=" in name:
            raise ValueError(f"{name!r} cannot be a signed key (non-empty, no '=')")
    return names


def unknown_keys(fields: Mapping[str, object], keys: Collection[str]) -> list[str]:
    """The keys of ``fields`` not in ``keys``, sorted. Empty-valued ones count too."""
    return sorted(key for key in fields if key not in keys)


def recut_key(fields: Mapping[str, object], keys: Collection[str]) -> tuple[str, str] | None:
    """``(field, key)`` when the signed text of ``fields[field]`` holds ``key=`` for a ``key``
    in ``keys`` that sorts after ``field``; ``None`` when no value could be re-cut.

    Why this suffices: take two bodies whose keys are all in ``keys`` (none has ``=``) with
    one canonical string. Their first keys are equal (each ends at the first ``=``). Where
    their values first differ in length, the longer value goes on with the other body's next
    ``key=``, a key of ``keys`` sorting after the field. So if neither body has such a value,
    both cut the string the same way: they carry the same text for the same keys.
    """
    for field, value in fields.items():
        if field == SIGN_FIELD or value is None:
            continue
        text = value if type(value) is str else wire_text(value)
        if "=" not in text:  # the common case: nothing could be cut out of it
            continue
        for key in sorted(keys):
            if key > field and key != SIGN_FIELD and f"{key}=" in text:
                return field, key
    return None
