"""The benchmark suite's helpers, and one tiny end-to-end run (no timing is asserted)."""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import json
import math
import re
import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from benchmarks import clients, instructions, report, stats, stub
from benchmarks.clients import CLIENTS, Settings
from benchmarks.common import ORDER, hand_sign, percentile, trade_no
from benchmarks.run import DEFAULT_CLIENTS, QUICK_CLIENTS, build_parser, main, resolve
from vexora_async import CheckoutRequest, VexoraClient, rules, signing


def _run(client: str, cpu: float, repeat: int, concurrency: int = 64) -> dict[str, Any]:
    return {
        "client": client, "label": client, "n": 100, "concurrency": concurrency, "repeat": repeat,
        "errors": 0, "first_error": None, "links_per_s": 1e6 / cpu, "p50_ms": 1.0,
        "p99_ms": 2.0, "cpu_us_per_link": cpu, "cpu_user_us_per_link": cpu * 0.8,
        "cpu_sys_us_per_link": cpu * 0.2, "client_cpu_util": 1.0, "peak_rss_mib": 40.0,
        "server_cpu_us_per_link": 10.0, "server_cpu_util": 0.05,
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


@given(speeds=st.lists(st.floats(0.5, 2.0), min_size=1, max_size=7))
def test_paired_figures_do_not_see_the_machine_drift(speeds: list[float]) -> None:
    # Each repeat runs the whole machine `speed` times slower: ratios within a repeat stay.
    runs = [
        _run(client, cpu * speed, repeat)
        for repeat, speed in enumerate(speeds)
        for client, cpu in (("floor", 150.0), ("aiohttp", 190.0), ("sdk", 235.0),
                            ("sdk-uvloop", 220.0), ("requests", 910.0))
    ]
    paired = stats.paired(runs, [64])["64"]
    for key, expected in (("sdk/floor", 235 / 150), ("sdk/aiohttp", 235 / 190),
                          ("sdk/requests", 235 / 910), ("sdk-uvloop/sdk", 220 / 235)):
        figure = paired[key]
        assert figure["min"] == figure["max"] == pytest.approx(expected, abs=1e-3)
        assert len(figure["values"]) == len(speeds)
    overhead = paired["overhead"]
    assert overhead["values"] == [pytest.approx(85 * s, abs=0.06) for s in speeds]
    assert "batch_extra" not in paired  # sdk-batch never ran


def test_paired_figures_pair_runs_of_the_same_repeat_only() -> None:
    runs = [_run("floor", 100.0, 0), _run("sdk", 130.0, 0), _run("sdk", 400.0, 1),
            _run("floor", 300.0, 2)]
    assert stats.paired(runs, [64])["64"]["overhead"]["values"] == [30.0]


def test_summaries_spread_across_repeats() -> None:
    runs = [_run("sdk", cpu, i) for i, cpu in enumerate((200.0, 260.0, 230.0))]
    runs.append(_run("sdk", 999.0, 0, concurrency=256))
    (row64, row256) = stats.summarize(runs, ["floor", "sdk"], [64, 256])
    assert (row64["concurrency"], row64["repeats"]) == (64, 3)
    assert row64["cpu_us_per_link"] == {
        "median": 230.0, "min": 200.0, "max": 260.0, "low": 200.0, "high": 260.0,
        "values": [200.0, 260.0, 230.0],
    }
    assert row64["cpu_user_us_per_link"]["median"] == 184.0
    assert row256["cpu_us_per_link"]["values"] == [999.0]


def _coverage(n: int, r: int) -> float:
    """P(the r-th smallest <= the median <= the r-th largest) for n values from any
    continuous distribution: 1 - 2 P(Binomial(n, 1/2) < r)."""
    return 1 - 2 * sum(math.comb(n, k) for k in range(r)) / 2**n


@pytest.mark.parametrize("n", range(1, 80))
def test_median_interval_is_the_narrowest_with_95_percent_coverage(n: int) -> None:
    low, high = stats.median_interval([float(v) for v in reversed(range(n))])
    r = int(low) + 1  # the values are 0 .. n-1: low is the r-th smallest
    assert high == n - r  # and high the r-th largest
    assert low <= statistics.median(range(n)) <= high
    if n <= 5:
        assert (low, high) == (0, n - 1)  # no pair reaches 95%: the range
    else:
        assert _coverage(n, r) >= 0.95
        assert r == (n + 1) // 2 or _coverage(n, r + 1) < 0.95  # none narrower would do


def test_median_interval_of_known_sizes() -> None:
    assert stats.median_interval([3.0, 1.0, 2.0, 5.0, 4.0]) == (1.0, 5.0)
    assert stats.median_interval([float(v) for v in range(1, 10)]) == (2.0, 8.0)
    assert stats.median_interval([float(v) for v in range(1, 22)]) == (6.0, 16.0)
    with pytest.raises(ValueError):
        stats.median_interval([])


def test_targets() -> None:
    runs = [_run(c, cpu, r) for r in range(3) for c, cpu in
            (("floor", 150.0), ("aiohttp", 190.0), ("sdk", 170.0), ("sdk-batch", 180.0))]
    runs[0]["server_cpu_util"] = 0.7
    found = report.evaluate_targets({
        "paired": stats.paired(runs, [64, 256]),
        "runs": runs,
        "batch_rss": [{"n": 100_000, "peak_rss_mib": 44.0}, {"n": 10_000, "peak_rss_mib": 42.0}],
    })
    holds = [(t["target"].split(" (")[0], t["holds"]) for t in found]
    assert holds == [
        ("SDK live overhead", True),  # 20 µs ≤ 25
        ("SDK ÷ floor ≤ 1.167" + report.TIMES, True),  # 170 / 150 = 1.133
        ("SDK CPU per link ≤ hand-written aiohttp's", True),
        ("create_payment_links within 5 µs per link of single calls", False),  # 10 µs
        ("batch peak RSS at 100,000 within 10% of 10,000", True),
        ("the stub gateway was never the bottleneck", False),  # 70% busy once
    ]
    assert "of the targets' clients" in found[-1]["target"]
    runs.append({**_run("sdk-http11", 60.0, 0), "server_cpu_util": 0.9})
    runs[0]["server_cpu_util"] = 0.2
    stub_lines = [t for t in report.evaluate_targets({"runs": runs}) if "stub" in t["target"]]
    assert [(t["value"], t["holds"]) for t in stub_lines] == [(0.2, True), (0.9, False)]
    assert "of the other clients" in stub_lines[1]["target"]


def test_default_clients_are_known() -> None:
    assert set(DEFAULT_CLIENTS) <= set(CLIENTS)
    assert set(QUICK_CLIENTS) <= set(DEFAULT_CLIENTS)


class _Wire:
    """A transport that keeps what the stub writes."""

    def __init__(self) -> None:
        self.out = bytearray()

    def write(self, data: bytes) -> None:
        self.out += data


def _request(trade: str, casing: str, extra: str) -> bytes:
    body = json.dumps({"tradeNo": trade, "amount": 10000, "pad": extra}).encode()
    return (f"POST /v1/vexora/checkout HTTP/1.1\r\nHost: x\r\n{casing}: {len(body)}\r\n"
            "\r\n").encode() + body


_RESPONSE = re.compile(rb"HTTP/1\.1 200 OK\r\n(.*?)\r\n\r\n", re.DOTALL)


def _responses(data: bytes) -> list[dict[str, Any]]:
    """Split a stream of the stub's answers, checking each one's Content-Length."""
    found = []
    while data:
        head = _RESPONSE.match(data)
        assert head is not None
        length = int(re.search(rb"Content-Length: (\d+)", head.group(1)).group(1))  # type: ignore[union-attr]
        body, data = data[head.end():head.end() + length], data[head.end() + length:]
        assert len(body) == length
        found.append(json.loads(body))
    return found


@settings(max_examples=60, deadline=None)
@given(
    requests=st.lists(
        st.tuples(st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True),
                  st.sampled_from(["Content-Length", "content-length", "CONTENT-LENGTH"]),
                  st.text(max_size=40)),
        min_size=1, max_size=6,
    ),
    cuts=st.lists(st.integers(0, 4000), max_size=12),
)
def test_the_stub_answers_each_request_however_the_bytes_arrive(
    requests: list[tuple[str, str, str]], cuts: list[int]
) -> None:
    stream = b"".join(_request(*r) for r in requests)
    protocol, wire = stub.StubProtocol(), _Wire()
    protocol.connection_made(wire)  # type: ignore[arg-type]
    edges = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    for start, stop in itertools.pairwise(edges):
        protocol.data_received(stream[start:stop])
    answers = _responses(bytes(wire.out))
    assert [a["data"]["tradeNo"] for a in answers] == [trade for trade, _, _ in requests]
    assert all(a["code"] == "0000" for a in answers)


async def test_the_sdk_accepts_the_stubs_answer() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(stub.StubProtocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with VexoraClient(merchant_no="0000009001", secret="S", region="IDR",
                                base_url=f"http://127.0.0.1:{port}") as client:
            links = await asyncio.gather(*(
                client.create_payment_link(
                    CheckoutRequest(trade_no=f"STUB{i:06d}", amount=10_000, **ORDER)
                ) for i in range(20)
            ))
    finally:
        server.close()
        await server.wait_closed()
    assert [link.trade_no for link in links] == [f"STUB{i:06d}" for i in range(20)]
    assert {link.status.code for link in links} == {"0015"}


def test_a_tiny_run_writes_every_part(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([
        "--quick", "--n", "40", "--warmup", "5", "--concurrency", "4", "--repeat", "2",
        "--e2e-n", "20", "--batch-sizes", "30,60", "--batch-concurrency", "8",
        "--out", str(tmp_path), "--name", "tiny",
    ])
    assert code == 0
    result = json.loads((tmp_path / "tiny.json").read_text())
    installed = [  # a client whose library is missing is skipped, not failed
        name for name in QUICK_CLIENTS
        if all(importlib.util.find_spec(module) for module in CLIENTS[name].needs)
    ]
    assert [r["client"] for r in result["results"]] == installed
    assert all(r["errors"] == 0 and r["repeats"] == 2 for r in result["results"])
    assert sorted((r["client"], r["repeat"]) for r in result["runs"]) == sorted(
        (name, repeat) for name in installed for repeat in (0, 1)
    )
    for run in result["runs"]:
        assert run["cpu_us_per_link"] == pytest.approx(
            run["cpu_user_us_per_link"] + run["cpu_sys_us_per_link"], abs=0.02
        )
        assert run["loop"] == ("uvloop" if run["client"] == "sdk-uvloop" else "asyncio")
    paired = result["paired"]["4"]
    assert {"sdk/floor", "sdk/aiohttp", "overhead", "batch_extra"} <= set(paired)
    assert all(len(figure["values"]) == 2 for figure in paired.values())
    assert [r["client"] for r in result["e2e"]["results"]] == ["floor", "sdk"]
    assert all(r["errors"] == 0 for r in result["e2e"]["results"])
    assert [b["n"] for b in result["batch_rss"]] == [30, 60]
    assert all(b["outcomes"] == {"created": b["n"]} for b in result["batch_rss"])
    assert set(result["micro"]["stages_us"]) == {
        "build", "validate", "sign", "encode", "decode", "structure",
    }
    assert {t["target"].split(" (")[0] for t in result["targets"]} >= {
        "SDK live overhead", "the stub gateway was never the bottleneck",
    }
    table = (tmp_path / "tiny.md").read_text()
    for r in result["results"]:
        assert r["label"] in table
    out = capsys.readouterr().out
    assert "SDK live overhead: SDK - floor" in out
    assert "stub" in out and "busy" in out


def test_a_client_whose_library_is_missing_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str) -> Any:
        return None if name in {"requests", "uvloop"} else real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    args = resolve(build_parser().parse_args(["--quick"]))
    assert "requests" not in args.clients and "requests" not in args.e2e_clients
    assert "sdk-uvloop" not in args.clients
    assert "sdk" in args.clients


def test_instructions_come_from_the_dump_the_end_marker_triggered(tmp_path: Path) -> None:
    parts = {
        "callgrind.out.7": "desc: Trigger: Program termination\nsummary: 999\n",
        "callgrind.out.7.1": "desc: Trigger: --dump-before=os_getsid\nsummary: 5\n",
        "callgrind.out.7.2": "desc: Trigger: --dump-before=getsid\nevents: Ir\nsummary: 1234\n",
    }
    for name, text in parts.items():
        (tmp_path / name).write_text(text)
    assert instructions.count_from_dumps(sorted(tmp_path.iterdir())) == 1234
    (tmp_path / "callgrind.out.7.2").unlink()
    with pytest.raises(instructions.InstructionsError, match="end marker"):
        instructions.count_from_dumps(sorted(tmp_path.iterdir()))


def test_instructions_without_valgrind_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert instructions.main(["--n", "10"]) == 2
    assert "apt-get install valgrind" in capsys.readouterr().err


@pytest.mark.parametrize("stage", ["build", "validate", "sign", "decode", "structure", "pipeline"])
def test_every_counted_stage_runs_between_the_markers(
    stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``micro --stage`` (what callgrind runs) works for every stage, the pipeline included
    (driven without a loop: it must finish without suspending), and calls each marker once."""
    import os

    from benchmarks import micro

    marks: list[str] = []
    monkeypatch.setattr(os, "getpgid", lambda _: marks.append("zero"))
    monkeypatch.setattr(os, "getsid", lambda _: marks.append("dump"))
    assert micro.main(["--stage", stage, "--loops", "3"]) == 0
    assert marks == ["zero", "dump"]


def test_verdict_judges_by_the_interval_of_the_median() -> None:
    target = {"value": 20.0, "holds": True, "limit": 25.0, "range": [-5.0, 60.0],
              "interval": [15.0, 24.0]}
    assert report.verdict(target) == "holds"  # an outlier repeat widens only the range
    assert report.verdict({**target, "interval": [15.0, 30.0]}) == "unclear"
    assert report.verdict({**target, "interval": None}) == "unclear"  # earlier results: range
    assert report.verdict({**target, "value": 30.0, "holds": False,
                           "interval": [26.0, 33.0]}) == "does not hold"


@pytest.mark.parametrize("name", ["floor", "aiohttp", "sdk", "sdk-http11", "sdk-batch"])
async def test_no_client_makes_its_orders_inside_the_measured_links(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Order numbers and amounts are the caller's work: every client gets them made before
    the clock, as the floor's pre-built bodies hold them (README, Benchmarks)."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(stub.StubProtocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    run = Settings(base_url=f"http://127.0.0.1:{port}", run_id="t00000", tag="zz",
                   concurrency=2, orders=4)

    def made_inside(*_: object) -> None:
        raise AssertionError("an order made inside the measured links")

    try:
        async with CLIENTS[name].factory(run) as call:
            monkeypatch.setattr(clients, "trade_no", made_inside)  # from here on: the clock
            monkeypatch.setattr(clients, "amount_of", made_inside)
            if CLIENTS[name].kind == "batch":
                results: list[Any] = [await call(0, 4)]
                assert results == [(0, None)]  # no errors
            else:
                results = [await call(index) for index in range(4)]
    finally:
        server.close()
        await server.wait_closed()
    if name in ("sdk", "sdk-http11"):  # the numbers are still each order's own
        assert [r.trade_no for r in results] == [trade_no("t00000", "zz", i) for i in range(4)]
