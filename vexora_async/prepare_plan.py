"""A region profile's ``prepare`` for the usual request, compiled once per profile.

``RegionProfile.check_fields`` is the reference: it takes a wire-named dict, applies every
rule and names every violation. Most requests break no rule, so each profile also compiles
a straight-line function from its plan (as attrs and cattrs generate their methods): it
reads the request's attributes directly, applies the same checks in the same order and
builds the wire dict in the same pass, with no intermediate unstructured dict.

The compiled function only *accepts*. At the first sign of anything unusual (a broken rule,
a value that is not plain ``str``, an unusual amount type, a field the profile does not
send) it returns None and ``prepare`` runs the reference, which finds and words every
violation. Errors are therefore the reference's by construction; what the fast function
accepts must be exactly what the reference returns, and
``tests/test_prepare_equivalence.py`` checks that over generated requests and profiles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import attrs

from . import rules
from .models import CheckoutRequest
from .wire import wire_name

__all__ = ["FastPrepare", "compile_prepare"]

# The compiled function: the request's wire fields, or None ("ask the reference").
FastPrepare = Callable[[CheckoutRequest], "dict[str, Any] | None"]

# Request attribute by wire name (``extra`` is not a field: prepare sends those to the reference).
_ATTRIBUTES = {
    wire_name(a.name): a.name for a in attrs.fields(CheckoutRequest) if a.name != "extra"
}

# One planned step of a profile: (wire name, error name, required, check, scan the text,
# a condition reads it), as ``RegionProfile`` plans them.
Step = tuple[str, str, bool, "rules.Check | None", bool, bool]


def compile_prepare(
    name: str,
    steps: Sequence[Step],
    amount: rules.AmountRule,
    conditions: Sequence[rules.Condition],
    consumed: frozenset[str],
) -> FastPrepare:
    """The fast path of ``RegionProfile.prepare`` for one profile (see the module doc)."""
    env: dict[str, Any] = {
        "Invalid": rules.Invalid,
        "Decimal": Decimal,
        "amount_violations": amount.violations,
        "amount_render": amount.render,
    }
    body: list[str] = []
    emit = body.append

    # The amount, always sent. A plain int only needs its bounds (``AmountRule.violations``
    # on an int); its rendering is ``AmountRule.render``'s for an int, inlined.
    limit = amount._limit
    if amount.minimum is None or type(amount.minimum) is int:
        low = 1 if amount.minimum is None else max(1, amount.minimum)
        emit(f"if type(amount) is int and {low} <= amount < {limit}:")
    else:  # compared as the reference does (int against Decimal, exactly)
        env["minimum"] = amount.minimum
        emit(f"if type(amount) is int and 0 < amount < {limit} and not amount < minimum:")
    if amount.as_number:
        emit("    out = {'amount': amount}")
    elif amount.decimals == 0:
        emit("    out = {'amount': str(amount)}")
    else:
        emit(f"    out = {{'amount': str(amount) + {'.' + '0' * amount.decimals!r}}}")
    emit("elif type(amount) is Decimal and not amount_violations(amount):")
    emit("    out = {'amount': amount_render(amount)}")
    emit("else:")
    emit("    return None")

    # A set attribute the profile does not send: the reference refuses it (``not_allowed``).
    # ``tradeNo`` is rendered even when None, so a profile without it never accepts.
    unsent = [attr for wire, attr in _ATTRIBUTES.items() if wire not in consumed]
    if "trade_no" in unsent:
        emit("return None")
    elif unsent:
        emit("if " + " or ".join(f"request.{a} is not None" for a in unsent) + ":")
        emit("    return None")

    if conditions:
        emit("seen = {}")  # what the conditions get: read fields, as normalised
    for index, (wire, field, required, check, scan, read) in enumerate(steps):
        attr = _ATTRIBUTES.get(wire)
        if attr is None:  # only ``extra`` could hold it, and there is none
            if required:
                emit("return None")
            continue
        emit(f"value = request.{attr}")
        if required:  # None or "" is ``required`` in the reference
            emit("if type(value) is not str or not value:")
            emit("    return None")
            indent = ""
        else:  # None is not sent, "" is skipped; anything but plain text: the reference
            emit("if value is not None:")
            emit("    if type(value) is not str:")
            emit("        return None")
            emit("    if value:")
            indent = "        "
        if scan:  # text_hygiene's first test; an unusual value goes to the reference
            emit(f"{indent}if not value.isprintable():")
            emit(f"{indent}    return None")
        refuses = rules.refuses_of(check)
        if refuses is not None:  # the check as one expression: no call
            env[f"arg_{index}"] = refuses[1]
            test = refuses[0].replace("ARG", f"arg_{index}")
            emit(f"{indent}if {test}:  # {field!r}")
            emit(f"{indent}    return None")
        elif check is not None:
            env[f"check_{index}"] = check
            emit(f"{indent}value = check_{index}(value)  # {field!r}")
        emit(f"{indent}out[{wire!r}] = value")
        if read and conditions:
            emit(f"{indent}seen[{field!r}] = value")
    for index, condition in enumerate(conditions):
        refuses = rules.refuses_of(condition)
        if refuses is not None:
            env[f"condition_arg_{index}"] = refuses[1]
            emit(f"if {refuses[0].replace('ARG', f'condition_arg_{index}')}:")
        else:
            env[f"condition_{index}"] = condition
            emit(f"for _ in condition_{index}(seen):")
        emit("    return None")
    emit("return out")

    # One try: a check's ``Invalid`` anywhere means "ask the reference".
    source = "\n".join(
        [
            "def prepare(request):",
            "    amount = request.amount",
            "    try:",
            *(f"        {line}" for line in body),
            "    except Invalid:",
            "        return None",
        ]
    )
    code = compile(source, f"<prepare {name}>", "exec")
    exec(code, env)  # the source is generated above from the profile's own plan
    prepare: FastPrepare = env["prepare"]
    prepare.__doc__ = source  # shown by help(): what this profile compiled to
    return prepare
