"""The cashier page in a real browser: Debian's Chromium driven by Playwright.

Outside CI a missing Chromium or Playwright skips these tests with a loud reason; with
``CI=true`` it fails them (CI installs both: ``.ci/run`` and the ``dev`` extra).
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from vexora_async.sandbox import NotifyRecorder, Sandbox, run_sandbox

from .test_sandbox_support import MERCHANTS, checkout_request

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    missing = []
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    executable = _chromium()
    if executable is None:
        missing.append("Chromium (apt-get install chromium)")
    if missing:
        reason = "BROWSER TESTS NOT RUN: missing " + " and ".join(missing)
        if IN_CI:
            pytest.fail(reason)
        # Loud: in the warnings summary of every run, not only with -rs.
        warnings.warn(reason, pytest.PytestWarning, stacklevel=1)
        pytest.skip(reason)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


async def _shot(page: Any, name: str) -> None:
    # For a person checking the look: VEXORA_SCREENSHOTS=/some/dir (never committed).
    folder = os.environ.get("VEXORA_SCREENSHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


async def test_pay_in_the_browser(browser: Any) -> None:
    with NotifyRecorder() as recorder:
        async with run_sandbox(time_factor=0.001) as sandbox:
            async with sandbox.client("IDR") as client:
                link = await client.create_payment_link(
                    checkout_request("IDR", "WEB-1", recorder.url, remark="<b>gift</b> & \"x\"")
                )
            page = await browser.new_page()
            posts: list[str] = []
            dialogs: list[str] = []
            page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
            page.on("dialog", lambda d: dialogs.append(d.message))

            await page.goto(link.payment_url)
            assert await page.title() == "Pay Rp\u00a0150.000"
            assert await page.text_content("#amount") == "Rp\u00a0150.000"
            assert await page.text_content("#method") == "EWALLET \u00b7 DANA"
            assert await page.text_content("#remark") == '<b>gift</b> & "x"'  # text, not HTML
            await _shot(page, "cashier")

            await page.click("#paid")
            await page.wait_for_url(f"{link.payment_url}/done")
            assert await page.text_content("#result") == "Payment successful"
            assert await page.text_content("#result-amount") == "Rp\u00a0150.000 paid"
            await _shot(page, "confirmation")

            [body] = await recorder.wait_async(1)
            assert (body["tradeNo"], body["status"], body["amount"]) == ("WEB-1", "0000", "150000")
            order = sandbox.ledger.order("WEB-1")
            assert order is not None and order.status == "0000"
            assert posts == [link.payment_url]

            # A refresh shows the confirmation again and submits nothing.
            await page.reload()
            assert await page.text_content("#result") == "Payment successful"
            assert posts == [link.payment_url]
            attempts = await sandbox.notifications_settled("WEB-1")
            assert [a.delivery for a in attempts] == [1]
            assert len(recorder.bodies) == 1
            assert dialogs == []


async def test_pay_part_then_the_rest_in_the_browser(browser: Any) -> None:
    merchant = MERCHANTS["USD"]
    with NotifyRecorder() as recorder:
        async with run_sandbox(time_factor=0.001) as sandbox:
            async with sandbox.client(merchant.merchant_no) as client:
                link = await client.create_payment_link(
                    checkout_request("USD", "WEB-2", recorder.url)
                )
            page = await browser.new_page()
            await page.goto(link.payment_url)
            assert await page.text_content("#amount") == "$12.50"
            await page.fill("#part-amount", "5.25")
            await page.click("#partial")
            await page.wait_for_url(f"{link.payment_url}/done")
            assert await page.text_content("#result") == "Partly paid"
            assert await page.text_content("#result-amount") == "$5.25 of $12.50 paid"
            [first] = await recorder.wait_async(1)
            assert (first["status"], first["amount"]) == ("0001", "5.25")

            await page.click("#continue")
            assert await page.text_content("#amount") == "$7.25"  # what is left
            await _shot(page, "partial")
            await page.click("#paid")
            await page.wait_for_url(f"{link.payment_url}/done")
            assert await page.text_content("#result") == "Payment successful"
            _, second = await recorder.wait_async(2)
            assert second["status"] == "0000"
            order = sandbox.ledger.order("WEB-2")
            assert order is not None and order.status == "0000"


async def test_decline_and_a_bad_amount_in_the_browser(browser: Any) -> None:
    async with run_sandbox(sandbox=Sandbox(MERCHANTS.values())) as sandbox:
        async with sandbox.client("PHP") as client:
            link = await client.create_payment_link(checkout_request("PHP", "WEB-3"))
        page = await browser.new_page()
        await page.goto(link.payment_url)
        assert await page.text_content("#amount") == "\u20b1300"
        await page.fill("#part-amount", "999")
        await page.click("#partial")
        assert "less than the amount" in (await page.text_content("[role=alert]") or "")
        await page.click("#failed")
        await page.wait_for_url(f"{link.payment_url}/done")
        assert await page.text_content("#result") == "Payment declined"
        assert await page.get_attribute("#return", "href") == "https://merchant.example/return"
        order = sandbox.ledger.order("WEB-3")
        assert order is not None and order.status == "00029"


# -- the page's text, without a browser ---------------------------------------------------

def test_amounts_are_written_in_their_currency() -> None:
    from decimal import Decimal

    from vexora_async.sandbox.cashier import format_amount

    cases = {
        ("150000", "IDR"): "Rp\u00a0150.000",
        ("1234567.5", "IDR"): "Rp\u00a01.234.567,50",
        ("12.50", "USD"): "$12.50",
        ("12.5", "USD"): "$12.50",
        ("1000000", "USD"): "$1,000,000.00",
        ("40000", "KHR"): "KHR\u00a040,000",
        ("300", "PHP"): "\u20b1300",
        ("300.00", "PHP"): "\u20b1300",
        ("1500.75", "PHP"): "\u20b11,500.75",
        ("7", "XAU"): "XAU\u00a07",
    }
    for (amount, currency), shown in cases.items():
        assert format_amount(Decimal(amount), currency) == shown


def test_every_value_on_the_page_is_escaped() -> None:
    from decimal import Decimal

    from hypothesis import given, settings, strategies as st

    from vexora_async.sandbox.cashier import render_cashier, render_confirmation
    from vexora_async.sandbox.ledger import Order

    hostile = st.text(alphabet=st.sampled_from('<>&"\'a/ '), min_size=1, max_size=12)
    merchant = MERCHANTS["PHP"]

    def pages(trade_no: str, remark: str, channel: str, way: str, ret: str) -> list[str]:
        order = Order(
            "0000000003", f"Z{trade_no}Q", "sb0000000001", "PHP", Decimal(300), None,
            return_url=f"Z{ret}Q", channel_code=f"Z{channel}Q", way_code=f"Z{way}Q",
            remark=f"Z{remark}Q",
        )
        return [render_cashier(order, merchant, error=f"Z{remark}Q"),
                render_confirmation(order, merchant)]

    baseline = pages("a", "a", "a", "b", "a")

    @settings(max_examples=60, deadline=None)
    @given(trade_no=hostile, remark=hostile, channel=hostile, way=hostile, ret=hostile)
    def check(trade_no: str, remark: str, channel: str, way: str, ret: str) -> None:
        for html, plain in zip(pages(trade_no, remark, channel, way, ret), baseline, strict=True):
            # The same markup as with harmless values: no tag or quote came from a value...
            for char in '<>"':
                assert html.count(char) == plain.count(char)
            # ... and no value appears unescaped.
            for text in (trade_no, remark, channel, way, ret):
                if set(text) & set("<>&\"'"):
                    assert f"Z{text}Q" not in html

    check()
