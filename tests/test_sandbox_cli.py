"""The ``vexora-async sandbox`` console command."""

from __future__ import annotations

import asyncio
import importlib.metadata
import re
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from vexora_async import VexoraClient
from vexora_async.cli import main
from vexora_async.commands.common import EXIT_CONFIG, EXIT_FAILED_ROWS
from vexora_async.sandbox import NotifyRecorder, SandboxThread

from .test_sandbox_support import checkout_request, get, post, wire_body

URL = re.compile(r"http://127\.0\.0\.1:\d+")


@asynccontextmanager
async def command(*args: str) -> AsyncIterator[tuple[str, str]]:
    """Run ``vexora-async sandbox ARGS`` on a free port; yield (base URL, banner text);
    terminate it afterwards and check it exits cleanly."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vexora_async.cli", "sandbox", "--port", "0", *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        lines = []
        while not lines or not lines[-1].startswith("Press Ctrl+C"):
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, "the command ended before printing its banner"
            lines.append(line.decode().rstrip())
        match = URL.search(lines[0])
        assert match is not None
        yield match.group(0), "\n".join(lines)
    finally:
        if process.returncode is None:
            process.terminate()
        code = await asyncio.wait_for(process.wait(), 30)
    assert code == 0


async def test_sandbox_command_prints_its_url_and_serves() -> None:
    async with command("--time-factor", "0.001") as (base_url, banner):
        assert "0000000001" in banner
        assert "TESTSECRET" in banner  # the default test merchant's secret is for the user
        info = (await get(base_url + "/sandbox")).json()
        assert info["baseUrl"] == base_url
        assert info["timeFactor"] == Decimal("0.001")
        async with VexoraClient(
            merchant_no="0000000001", secret="TESTSECRET", base_url=base_url
        ) as client:
            link = await client.create_payment_link(checkout_request("IDR", "CLI-1"))
        assert link.payment_url.startswith(base_url + "/cashier/")


async def test_sandbox_command_with_faults_and_codes() -> None:
    options = (
        "--fault-rate", "1", "--fault-kinds", "unknown-code-after-store", "--fault-seed", "3",
        "--code", "unknown_code=E9", "--code", "unknown_msg=odd answer", "--replica-lag", "2",
    )
    async with command(*options) as (base_url, banner):
        assert "faults: 100% of checkouts and queries, seed 3" in banner
        answer = await post(
            base_url + "/v1/vexora/checkout", wire_body("IDR", "CLI-F"), merchant_no="0000000001"
        )
        assert (answer.code, answer.json()["msg"]) == ("E9", "odd answer")
        ledger = (await get(base_url + "/sandbox/ledger?tradeNo=CLI-F")).json()
        assert len(ledger["orders"]) == 1  # stored: the fault answers after the commit


async def test_sandbox_command_with_merchants() -> None:
    merchants = ("--merchant", "0000000042:S3:CRET:PAYPRO_IDR", "--merchant", "0000000043:K")
    async with command(*merchants) as (base_url, banner):
        assert "0000000042: profile PAYPRO_IDR, checkout POST /v1/paypro/paymentLink" in banner
        assert "0000000043: profile IDR" in banner
        assert "S3:CRET" not in banner  # secrets the user chose are not echoed
        async with VexoraClient(
            merchant_no="0000000042", secret="S3:CRET", region="PAYPRO_IDR", base_url=base_url
        ) as client:
            link = await client.create_payment_link(checkout_request("PAYPRO_IDR", "CLI-2"))
        assert link.trade_no == "CLI-2"


async def test_console_script_refuses_a_non_loopback_host() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vexora_async.cli", "sandbox", "--host", "192.0.2.10",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == EXIT_CONFIG
    assert out == b""  # no banner: it never served
    assert b"not a loopback address" in err


@pytest.mark.parametrize("host", ["192.0.2.10", "0.0.0.0", "sandbox.example"])
def test_refuses_a_non_loopback_host(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--host", host, "--port", "0"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "not a loopback address" in err
    assert "--allow-external" in err


@pytest.mark.parametrize(
    "args",
    [
        ["--merchant", "0000000001"],
        ["--merchant", "0000000001:SECRET:NO_SUCH_PROFILE"],
        ["--merchant", "ABC:SECRET"],
        ["--time-factor", "0"],
        ["--code", "duplicate_code"],
        ["--code", "no_such_field=1"],
        ["--code", "sign_error_code=8000"],
        ["--fault-rate", "2"],
        ["--fault-kinds", "meteor"],
        ["--fault-rate", "0.5", "--fault-kinds", "lagging-replica,meteor"],
        ["--replica-lag", "-1"],
    ],
)
def test_bad_options(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--port", "0", *args]) == EXIT_CONFIG
    assert "error:" in capsys.readouterr().err


def test_an_unknown_code_name_lists_the_valid_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--port", "0", "--code", "nonsense=1"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "--code: unknown name(s) 'nonsense'" in err
    assert "duplicate_code" in err and "not_found_msg" in err  # every valid name
    assert "__init__" not in err and "keyword argument" not in err  # no Python internals


def test_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["sandbox", "--port", str(port)]) == EXIT_CONFIG
    assert "cannot serve" in capsys.readouterr().err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as top:
        main(["--help"])
    assert top.value.code == 0
    assert "sandbox" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["sandbox", "--help"])
    out = capsys.readouterr().out
    for option in ("--port", "--merchant", "--time-factor", "--host", "--allow-external"):
        assert option in out
    for action in ("pay", "redeliver"):
        with pytest.raises(SystemExit):
            main(["sandbox", action, "--help"])
        out = capsys.readouterr().out
        assert "TRADE_NO" in out and "--url" in out
    assert main([]) == 2  # no command: usage on stderr
    assert "COMMAND" in capsys.readouterr().err


def test_console_script_is_declared() -> None:
    scripts = importlib.metadata.entry_points(group="console_scripts", name="vexora-async")
    assert [s.value for s in scripts] == ["vexora_async.cli:main"]


def test_pay_and_redeliver_from_the_command_line(
    vexora_sandbox: SandboxThread, notify_recorder: NotifyRecorder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def create() -> None:
        async with vexora_sandbox.client("USD") as client:
            await client.create_payment_link(
                checkout_request("USD", "CLI-PAY", notify_recorder.url)
            )

    asyncio.run(create())
    url = ["--url", vexora_sandbox.base_url]
    partial = ["--outcome", "partial", "--amount", "2.50"]
    assert main(["sandbox", "pay", "CLI-PAY", *partial, *url]) == 0
    # The total as the SDK sent it ("12.5" or "12.50").
    partly = capsys.readouterr().out.strip()
    assert partly.startswith("partly paid: tradeNo CLI-PAY"), partly
    assert re.search(r"status 0001, paid 2\.50 of 12\.50?$", partly)
    [first] = notify_recorder.wait(1)
    assert (first["status"], first["amount"]) == ("0001", "2.50")

    assert main(["sandbox", "pay", "CLI-PAY", *url]) == 0
    assert main(["sandbox", "redeliver", "CLI-PAY", "--merchant-no", "0000000005", *url]) == 0
    out = capsys.readouterr().out
    assert "notification sent again" in out
    *_, paid, again = notify_recorder.wait(3)
    assert paid["status"] == again["status"] == "0000"
    order = vexora_sandbox.ledger.order("CLI-PAY")
    assert order is not None and order.status == "0000"

    # A failed payment is said as one, not as "paid:".
    async def create_another() -> None:
        async with vexora_sandbox.client("USD") as client:
            # (notified to an outside URL, which the sandbox skips: the recorder's count holds)
            await client.create_payment_link(checkout_request("USD", "CLI-FAIL"))

    asyncio.run(create_another())
    assert main(["sandbox", "pay", "CLI-FAIL", "--outcome", "failed", *url]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("payment failed: tradeNo CLI-FAIL") and "paid:" not in out, out
    assert "status 00029" in out

    # The sandbox refuses: exit 1 with its reason.
    assert main(["sandbox", "pay", "CLI-PAY", "--outcome", "failed", *url]) == EXIT_FAILED_ROWS
    assert "final already" in capsys.readouterr().err
    assert main(["sandbox", "redeliver", "NOPE", *url]) == EXIT_FAILED_ROWS
    assert "no order" in capsys.readouterr().err
    assert len(notify_recorder.bodies) == 3


def test_pay_without_a_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # nothing listens here
    assert main(["sandbox", "pay", "T1", "--url", f"http://127.0.0.1:{port}"]) == EXIT_CONFIG
    assert "no sandbox answered" in capsys.readouterr().err
    assert main(["sandbox", "pay", "T1", "--url", "ftp://x"]) == EXIT_CONFIG
