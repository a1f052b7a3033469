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

from .test_sandbox_support import checkout_request, get

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
    assert process.returncode == 2
    assert out == b""  # no banner: it never served
    assert b"not a loopback address" in err


@pytest.mark.parametrize("host", ["192.0.2.10", "0.0.0.0", "sandbox.example"])
def test_refuses_a_non_loopback_host(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--host", host, "--port", "0"]) == 2
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
    ],
)
def test_bad_options(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--port", "0", *args]) == 2
    assert "error:" in capsys.readouterr().err


def test_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["sandbox", "--port", str(port)]) == 1
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
    assert main([]) == 2  # no command: usage on stderr
    assert "COMMAND" in capsys.readouterr().err


def test_console_script_is_declared() -> None:
    scripts = importlib.metadata.entry_points(group="console_scripts", name="vexora-async")
    assert [s.value for s in scripts] == ["vexora_async.cli:main"]
