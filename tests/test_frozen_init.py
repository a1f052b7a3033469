"""``cheap_init`` builds exactly what attrs' own frozen ``__init__`` builds.

For every input, valid or not, positional or by name: the same object (fields, type,
equality, hash, repr) or the same error, and the object is frozen afterwards.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings, strategies as st

from vexora_async import CheckoutRequest
from vexora_async.errors import ValidationError
from vexora_async.frozen_init import ATTRS_INIT, cheap_init, positional_maker, settable_twin
from vexora_async.models import NO_EXTRA
from vexora_async.payout_models import PayoutRequest

CLASSES = [CheckoutRequest, PayoutRequest]

_text = st.text(max_size=12)
_value = st.one_of(st.none(), _text, st.integers(), st.booleans())
_amount = st.one_of(
    st.integers(), st.decimals(allow_nan=False), _text, st.floats(), st.booleans(), st.none(),
    st.sampled_from(["150000", " 12.50 ", "1e3", "NaN", "١٢٣"]),
)  # fmt: skip
_extra = st.one_of(
    st.none(), st.just(NO_EXTRA), st.dictionaries(_text, _value, max_size=3),
    st.lists(_text, max_size=2), st.integers(),
)  # fmt: skip


def _inputs(cls: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    optional = {
        a.name: _extra if a.name == "extra" else _value
        for a in attrs.fields(cls)
        if a.name not in ("trade_no", "amount")
    }
    return st.fixed_dictionaries(
        {"trade_no": st.one_of(_text, st.none()), "amount": _amount},
        optional=optional,
    )


def _reference(cls: type[Any], *args: Any, **kwargs: Any) -> Any:
    made = object.__new__(cls)
    ATTRS_INIT[cls](made, *args, **kwargs)
    return made


def _outcome(build: Any) -> tuple[str, Any]:
    try:
        return "made", build()
    except Exception as exc:  # the same error, type and words, is the claim
        return "error", (type(exc), str(exc))


def _same(made: Any, reference: Any, cls: type[Any]) -> None:
    assert type(made) is cls
    for a in attrs.fields(cls):
        mine, theirs = getattr(made, a.name), getattr(reference, a.name)
        assert type(mine) is type(theirs) and mine == theirs, a.name
    assert made == reference
    assert _outcome(lambda: hash(made)) == _outcome(lambda: hash(reference))
    assert repr(made) == repr(reference)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.trade_no = "changed"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_input_builds_what_attrs_builds(cls: type[Any]) -> None:
    @settings(max_examples=300, deadline=None)
    @given(kwargs=_inputs(cls), positional=st.booleans())
    def check(kwargs: dict[str, Any], positional: bool) -> None:
        args: tuple[Any, ...] = ()
        if positional:  # the two required fields by position, the rest by name
            args = (kwargs.pop("trade_no"), kwargs.pop("amount"))
        mine = _outcome(lambda: cls(*args, **kwargs))
        theirs = _outcome(lambda: _reference(cls, *args, **kwargs))
        assert mine[0] == theirs[0]
        if mine[0] == "error":
            assert mine[1] == theirs[1]
        else:
            _same(mine[1], theirs[1], cls)

    check()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_wrong_arguments_are_refused_as_python_refuses_them(cls: type[Any]) -> None:
    with pytest.raises(TypeError, match="amount"):
        cls("T1")
    with pytest.raises(TypeError, match="bogus"):
        cls("T1", 1, bogus=2)
    with pytest.raises(TypeError, match="multiple values"):
        cls("T1", 1, trade_no="T2")


def test_evolve_and_a_plain_subclass_keep_their_class() -> None:
    request = CheckoutRequest("T1", Decimal("12.50"), mobile="0812")
    evolved = attrs.evolve(request, trade_no="T2")
    assert type(evolved) is CheckoutRequest and evolved.amount == Decimal("12.50")

    class Tagged(CheckoutRequest):
        __slots__ = ()

    tagged = Tagged("T3", 10)
    assert type(tagged) is Tagged and tagged.amount == 10
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        tagged.amount = 11  # type: ignore[misc]


def test_a_class_it_cannot_build_exactly_is_refused() -> None:
    @attrs.frozen(slots=True)
    class Checked:
        value: int = attrs.field(validator=attrs.validators.instance_of(int))

    @attrs.frozen(slots=True)
    class Made:
        items: list[int] = attrs.Factory(list)

    @attrs.frozen(slots=False)
    class Unslotted:
        value: int

    assert settable_twin(Checked) is None
    for cls in (Checked, Made, Unslotted):
        with pytest.raises(TypeError, match="cannot build"):
            cheap_init(cls)


def test_the_positional_maker_builds_what_the_class_builds() -> None:
    from vexora_async.batch import Created, Failed, _created, _failed

    link_error = ValueError("x")
    request = CheckoutRequest("T1", "12.50")
    assert _failed(3, request, link_error) == Failed(3, request, link_error)
    made = _created(4, request, None)
    assert type(made) is Created and made == Created(4, request, None)  # type: ignore[arg-type]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.index = 5  # type: ignore[misc]
    make = positional_maker(CheckoutRequest)
    names = [a.name for a in attrs.fields(CheckoutRequest)]
    values: dict[str, Any] = {name: None for name in names} | {"trade_no": "T2", "amount": " 7.5 "}
    built = make(*values.values())
    assert built == CheckoutRequest(**values) and built.amount == Decimal("7.5")
    with pytest.raises(ValidationError):
        make(*({**values, "amount": 1.5}).values())


def test_the_positional_maker_needs_a_cheap_init_class() -> None:
    @attrs.frozen(slots=True)
    class Plain:
        value: int

    with pytest.raises(TypeError, match="cheap_init"):
        positional_maker(Plain)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_requests_hash_and_equal_requests_hash_equal(cls: type[Any], data: st.DataObject) -> None:
    # Frozen requests are values: a set of them, or a dict keyed by them, must work (their
    # ``extra`` mapping has no hash of its own and is left out of it, not out of equality).
    fields = data.draw(_inputs(cls))
    try:
        made = cls(**fields)
    except (ValidationError, TypeError):
        return
    twin = cls(**fields)
    assert hash(made) == hash(twin) and {made: 1}[twin] == 1
    other_extra = attrs.evolve(made, extra={"added": "x", **made.extra})
    assert other_extra != made and len({made, twin, other_extra}) == 2
