"""The batch and payouts input reader refuses ambiguity instead of picking a value.

A JSON Lines row with a key twice (``duplicate_field``) or with two spellings of one field,
``tradeNo`` and ``trade_no`` (``ambiguous_field``), is an invalid row that is reported and
never sent; a CSV header naming one field twice (either way) makes the file unusable: exit
3, one line, nothing sent. End to end against the sandbox, and over key orders and
spellings for the reader itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from vexora_async.batch_input import CHECKOUT_ROWS, InputFileError, RowReader
from vexora_async.cli import main
from vexora_async.payout_models import PayoutRequest
from vexora_async.sandbox import SandboxThread
from vexora_async.wire import wire_name

MERCHANT, SECRET = "0000000001", "TESTSECRET"
PAYOUT_ROWS = RowReader(PayoutRequest)

_CHECKOUT = {
    "trade_no": "AMB000001", "amount": "150000", "username": "Budi",
    "mobile": "081234567890", "email": "budi@example.com",
    "notify_url": "http://127.0.0.1:9/notify",
}  # fmt: skip
_PAYOUT = {
    "trade_no": "AMBP00001", "amount": "100000", "customer_name": "Jack",
    "mobile": "081234567890", "email": "jack@example.com", "bank_account_no": "5464438554636",
    "bank_code": "0002", "notify_url": "http://127.0.0.1:9/payouts",
}  # fmt: skip


def _account(sandbox: SandboxThread) -> list[str]:
    return ["--merchant-no", MERCHANT, "--secret", SECRET, "--base-url", sandbox.base_url]


def _line(pairs: list[tuple[str, Any]]) -> str:
    """One JSON object with these pairs as written, repeated keys included."""
    return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}"


def _results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- end to end: batch ---------------------------------------------------------------------


def test_batch_jsonl_rows_with_a_key_twice_or_two_spellings_are_invalid_and_never_sent(
    vexora_sandbox: SandboxThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [(k, v) for k, v in _CHECKOUT.items() if k not in ("trade_no", "amount")]
    lines = [
        _line([("tradeNo", "J1"), ("amount", 150000), ("amount", 250000), *base]),
        _line([("tradeNo", "J2"), ("trade_no", "J3"), ("amount", 150000), *base]),
        _line([("tradeNo", "J4"), ("amount", 150000), *base]),
        _line([("trade_no", "J5"), ("amount", 150000), *base, ("notifyUrl", "http://x.example/")]),
    ]
    source, out = tmp_path / "orders.jsonl", tmp_path / "results.jsonl"
    source.write_text("\n".join(lines) + "\n")
    args = ["batch", str(source), "--out", str(out), "--progress", "none"]
    # Without --skip-invalid: reported, nothing sent.
    assert main([*args, *_account(vexora_sandbox)]) == 3
    report = capsys.readouterr().out.splitlines()
    assert report == [
        "row 1: amount: duplicate_field (given twice in one row)",
        "row 2: trade_no: ambiguous_field (given as tradeNo and as trade_no)",
        "row 4: notify_url: ambiguous_field (given as notify_url and as notifyUrl)",
    ]
    assert vexora_sandbox.ledger.orders(MERCHANT) == []
    # With it: the others go on, the ambiguous rows are invalid results.
    assert main([*args, "--skip-invalid", *_account(vexora_sandbox)]) == 1
    results = _results(out)
    assert [(r["row"], r["outcome"]) for r in results] == [
        (1, "invalid"), (2, "invalid"), (3, "created"), (4, "invalid"),
    ]  # fmt: skip
    assert results[0]["violations"] == [{"field": "amount", "rule": "duplicate_field"}]
    assert results[1]["violations"] == [{"field": "trade_no", "rule": "ambiguous_field"}]
    assert [o.trade_no for o in vexora_sandbox.ledger.orders(MERCHANT)] == ["J4"]


@pytest.mark.parametrize(
    ("header", "cells", "message"),
    [
        (
            "trade_no,amount,username,mobile,email,notify_url,amount",
            ["C1,150000,Budi,081234567890,b@example.com,http://127.0.0.1:9/n,250000",
             "C2,150000,Budi,081234567890,b@example.com,http://127.0.0.1:9/n,"],
            "line 1: the CSV header names amount twice",
        ),
        (
            "trade_no,tradeNo,amount,username,mobile,email,notify_url",
            ["C3,C4,150000,Budi,081234567890,b@example.com,http://127.0.0.1:9/n"],
            "line 1: the CSV header names trade_no as 'trade_no' and as 'tradeNo'",
        ),
        (
            "trade_no,amount,username,mobile,email,notify_url,remark, remark",
            ["C5,150000,Budi,081234567890,b@example.com,http://127.0.0.1:9/n,a,b"],
            "line 1: the CSV header names remark twice",
        ),
        (
            "trade_no,amount,username,mobile,email,notify_url,shop,shop",
            ["C6,150000,Budi,081234567890,b@example.com,http://127.0.0.1:9/n,a,b"],
            "line 1: the CSV header names shop twice",  # an extra column too
        ),
    ],
)
def test_batch_csv_header_with_one_field_twice_is_refused_before_anything_is_sent(
    header: str,
    cells: list[str],
    message: str,
    vexora_sandbox: SandboxThread,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, out = tmp_path / "orders.csv", tmp_path / "results.jsonl"
    source.write_text("\n".join([header, *cells]) + "\n")
    before = sorted(tmp_path.iterdir())
    code = main(["batch", str(source), "--out", str(out), "--skip-invalid", "--progress",
                 "none", *_account(vexora_sandbox)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3 and message in err and err.count("\n") == 1, err
    assert vexora_sandbox.ledger.orders(MERCHANT) == []
    assert vexora_sandbox.ledger.requests() == []
    assert sorted(tmp_path.iterdir()) == before  # no results, no journal to resume


# -- end to end: payouts -------------------------------------------------------------------


def test_payouts_jsonl_amount_twice_is_never_paid(
    vexora_sandbox: SandboxThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vexora_sandbox.sandbox.payouts.fund(MERCHANT, 100_000_000)
    base = [(wire_name(k), v) for k, v in _PAYOUT.items() if k not in ("trade_no", "amount")]
    lines = [
        _line([("tradeNo", "PO1"), ("amount", 100000), ("amount", 9000000), *base]),
        _line([("tradeNo", "PO2"), ("amount", 100000), *base]),
        _line([("trade_no", "PO3"), ("amount", 100000), *base, ("bank_code", "0002")]),
    ]
    source, out = tmp_path / "payouts.jsonl", tmp_path / "results.jsonl"
    source.write_text("\n".join(lines) + "\n")
    args = ["payouts", str(source), "--out", str(out), "--progress", "none"]
    assert main([*args, *_account(vexora_sandbox)]) == 3
    assert capsys.readouterr().out.splitlines() == [
        "row 1: amount: duplicate_field (given twice in one row)",
        "row 3: bank_code: ambiguous_field (given as bankCode and as bank_code)",
    ]
    payouts = vexora_sandbox.sandbox.payouts.ledger
    assert payouts.orders(MERCHANT) == []
    assert main([*args, "--skip-invalid", *_account(vexora_sandbox)]) == 1
    results = _results(out)
    assert [(r["row"], r["outcome"]) for r in results] == [
        (1, "invalid"), (2, "created"), (3, "invalid"),
    ]  # fmt: skip
    assert [(o.trade_no, o.amount) for o in payouts.orders(MERCHANT)] == [("PO2", 100000)]


def test_payouts_csv_header_with_two_spellings_is_refused(
    vexora_sandbox: SandboxThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vexora_sandbox.sandbox.payouts.fund(MERCHANT, 100_000_000)
    names = [*_PAYOUT, "bankAccountNo"]
    cells = [*_PAYOUT.values(), "9999999999"]
    source, out = tmp_path / "payouts.csv", tmp_path / "results.jsonl"
    source.write_text(",".join(names) + "\n" + ",".join(cells) + "\n")
    code = main(["payouts", str(source), "--out", str(out), "--skip-invalid",
                 *_account(vexora_sandbox)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3 and err.count("\n") == 1, err
    assert "names bank_account_no as 'bank_account_no' and as 'bankAccountNo'" in err
    assert vexora_sandbox.sandbox.payouts.ledger.orders(MERCHANT) == []
    assert not out.exists()


# -- the reader, over key orders and spellings ------------------------------------------------

_READERS = {"checkout": (CHECKOUT_ROWS, _CHECKOUT), "payout": (PAYOUT_ROWS, _PAYOUT)}


@st.composite
def _ambiguous(draw: st.DrawFn) -> tuple[str, str, list[tuple[str, str]], str]:
    """(reader, the field given twice, the pairs in file order, the rule expected)."""
    kind = draw(st.sampled_from(sorted(_READERS)))
    good = _READERS[kind][1]
    field = draw(st.sampled_from(sorted(good)))
    pairs = [(draw(st.sampled_from([n, wire_name(n)])), v) for n, v in good.items() if n != field]
    spell = st.sampled_from([field, wire_name(field)])
    first, second = draw(spell), draw(spell)
    other = draw(st.sampled_from([good[field], "1", "T2", "200000"]))
    pairs = draw(st.permutations([*pairs, (first, good[field]), (second, other)]))
    rule = "duplicate_field" if first == second else "ambiguous_field"
    return kind, field, pairs, rule


@st.composite
def _spelled(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    """A good row, each field under either spelling, in any order."""
    kind = draw(st.sampled_from(sorted(_READERS)))
    good = _READERS[kind][1]
    pairs = [(draw(st.sampled_from([k, wire_name(k)])), v) for k, v in good.items()]
    return kind, draw(st.permutations(pairs))


_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(case=_ambiguous())
def test_a_jsonl_row_with_one_field_twice_is_invalid_whatever_the_order(
    case: tuple[str, str, list[tuple[str, str]], str], tmp_path: Path
) -> None:
    kind, field, pairs, rule = case
    reader = _READERS[kind][0]
    source = tmp_path / "rows.jsonl"
    source.write_text(_line(pairs) + "\n")
    (row,) = list(reader.read(source))
    assert row.request is None
    assert (field, rule) in [(v.field, v.rule) for v in row.violations]
    if field != "trade_no":
        assert row.trade_no in (None, _READERS[kind][1]["trade_no"])


@_SETTINGS
@given(case=_ambiguous())
def test_a_csv_header_with_one_field_twice_is_refused_whatever_the_order(
    case: tuple[str, str, list[tuple[str, str]], str], tmp_path: Path
) -> None:
    kind, field, pairs, _ = case
    reader = _READERS[kind][0]
    source = tmp_path / "rows.csv"
    source.write_text(",".join(k for k, _ in pairs) + "\n" + ",".join(v for _, v in pairs) + "\n")
    rows = reader.read(source)
    with pytest.raises(InputFileError, match=f"^line 1: the CSV header names {field} "):
        next(rows)


@_SETTINGS
@given(case=_spelled())
def test_one_spelling_per_field_in_any_order_reads_the_same_request(
    case: tuple[str, list[tuple[str, str]]], tmp_path: Path
) -> None:
    kind, pairs = case
    reader, good = _READERS[kind]
    expected = reader.to_row(2, dict(good)).request
    assert expected is not None
    csv_file, jsonl_file = tmp_path / "rows.csv", tmp_path / "rows.jsonl"
    csv_file.write_text(",".join(k for k, _ in pairs) + "\n" + ",".join(v for _, v in pairs) + "\n")
    jsonl_file.write_text(_line(pairs) + "\n")
    for path in (csv_file, jsonl_file):
        (row,) = list(reader.read(path))
        assert row.violations == () and row.request == expected


def test_to_row_refuses_two_spellings_on_the_fast_path_too() -> None:
    record = {**_CHECKOUT, "tradeNo": "OTHER"}
    for row in (CHECKOUT_ROWS.to_row(2, record), CHECKOUT_ROWS._checked_row(2, record)):
        assert row.request is None
        assert [(v.field, v.rule) for v in row.violations] == [("trade_no", "ambiguous_field")]
