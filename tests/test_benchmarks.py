"""The benchmark suite's helpers, and one tiny end-to-end run (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import report
from benchmarks.clients import CLIENTS
from benchmarks.common import hand_sign, percentile, trade_no
from benchmarks.run import DEFAULT_CLIENTS, build_parser, main, resolve
from vexora_async import rules, signing


def _result(client: str, links_per_s: float, concurrency: int = 64) -> dict[str, Any]:
    return {
        "client": client, "label": client, "n": 100, "concurrency": concurrency, "errors": 0,
        "links_per_s": links_per_s, "p50_ms": 1.0, "p99_ms": 2.0, "cpu_us_per_link": 100.0,
        "client_cpu_util": 1.0, "peak_rss_mib": 40.0, "server_cpu_us_per_link": None,
        "server_cpu_util": None,
    }


def test_hand_written_signature_matches_the_sdk() -> None:
    fields = {"timestamp": "1728613488294", "tradeNo": "test_00000008", "remark": ""}
    assert hand_sign(fields, "TESTSECRET") == "3c6f09275273e5d61b959d6f47845ae9"
    assert hand_sign(fields, "TESTSECRET") == signing.sign(fields, "TESTSECRET")


def test_trade_numbers_are_valid_and_distinct() -> None:
    numbers = {trade_no("a1b2c3", tag, i) for tag in ("00", "01") for i in (0, 1, 10**8)}
    assert len(numbers) == 6
    for number in numbers:
        assert rules.trade_no(number) == number


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([], 0.5) == 0.0


def test_ratios_and_targets() -> None:
    results = [
        _result("floor", 1000.0), _result("aiohttp", 800.0), _result("sdk", 950.0),
        _result("requests", 200.0),
    ]
    ratios = report.ratios(results)
    assert ratios == {"64": {"floor": 0.95, "aiohttp": 1.188, "requests": 4.75}}
    targets = report.evaluate_targets({
        "ratios": ratios,
        "micro": {"sdk_stages_us": 20.0},
        "batch_rss": [{"n": 100_000, "peak_rss_mib": 44.0}, {"n": 10_000, "peak_rss_mib": 42.0}],
    })
    holds = {t["target"].split(" (")[0]: t["holds"] for t in targets}
    assert list(holds.values()) == [True, True, False, True, True]


def test_default_clients_are_known() -> None:
    assert set(DEFAULT_CLIENTS) <= set(CLIENTS)


def test_a_tiny_run_writes_every_client(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([
        "--quick", "--n", "40", "--warmup", "5", "--concurrency", "4", "--no-micro",
        "--batch-sizes", "30,60", "--batch-concurrency", "8", "--out", str(tmp_path),
        "--name", "tiny",
    ])
    assert code == 0
    result = json.loads((tmp_path / "tiny.json").read_text())
    installed = [  # a client whose library is missing is skipped, not failed
        name for name in DEFAULT_CLIENTS
        if all(importlib.util.find_spec(module) for module in CLIENTS[name].needs)
    ]
    assert [r["client"] for r in result["results"]] == installed
    assert all(r["errors"] == 0 for r in result["results"])
    assert [b["n"] for b in result["batch_rss"]] == [30, 60]
    assert all(b["outcomes"] == {"created": b["n"]} for b in result["batch_rss"])
    table = (tmp_path / "tiny.md").read_text()
    for r in result["results"]:
        assert r["label"] in table
    assert "SDK ÷ this" in capsys.readouterr().out


def test_a_client_whose_library_is_missing_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str) -> Any:
        return None if name == "requests" else real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    args = resolve(build_parser().parse_args(["--quick"]))
    assert "requests" not in args.clients
    assert "sdk" in args.clients
