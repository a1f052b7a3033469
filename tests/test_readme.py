"""Every fenced block of README.md runs, in README order (issue 15): a README example that
rots fails the build.

What the harness does to a block, and nothing else:

- **One sandbox for the whole README** (``SandboxThread``), holding the credentials a reader
  sees: merchants ``0000000001`` IDR, ``0000000002`` PAYPRO_IDR, ``0000000003`` PHP,
  ``0000000004`` KHR, ``0000000005`` USD, each with the secret ``"your-app-secret"`` (and
  funded, for payouts). **The README's gateway URLs are swapped for a local sandbox's**: in a
  Python block every ``base_url="https://..."`` becomes ``base_url="<the sandbox's URL>"``.
  Nothing else in the code is changed. Blocks that start their own sandbox use their own.
- **Python** blocks run each in a fresh interpreter, in a fresh directory. A block may be
  preceded by an HTML comment (invisible in rendered Markdown) saying how to run it::

      <!-- readme-test: fragment region=PHP -->      top-level await / names from earlier
      <!-- readme-test: fragment prelude=signing -->  blocks: run inside an async function
      <!-- readme-test: name=callbacks -->           later blocks may use this one's names
      <!-- readme-test: recipe=aiohttp uses=callbacks -->   a notification endpoint: served
      <!-- readme-test: pytest -->                   a test file: run with pytest
      <!-- readme-test: with=cli-sandbox -->         (bash) needs `vexora-async sandbox`
      <!-- readme-test: file=orders.csv -->          (csv, json) a sample input file

  ``fragment`` runs the block inside ``async def`` after a prelude (``FRAGMENT_PRELUDE``):
  ``client``, a ``VexoraClient`` for the section's region (``region=``, default IDR) aimed at
  the sandbox; ``request``, a fresh valid ``CheckoutRequest`` for it; ``requests``, three
  fresh valid IDR ``PayoutRequest``s; plus ``PRELUDES[name]`` when ``prelude=`` names one
  (``fixtures``: ``vexora_sandbox``, a ``SandboxThread`` as the pytest fixture gives;
  ``payout-sandbox``: ``sandbox``, a ``Sandbox`` served in the block's own loop, since the
  block calls its methods directly, with payout ``PO-1`` under way; ``signing``: ``fields``,
  ``secret``, ``allowed``).
  ``pytest``: the file must pass with pytest-asyncio disabled (``-p no:asyncio``) and in
  its default strict mode: the example needs no pytest-asyncio setting, as it says.
  ``recipe=`` runs the named blocks, then the recipe, after ``RECIPE_PRELUDE`` (the ``orders``
  and ``payouts`` the README's callbacks call: they record every call), then drives it
  (``RECIPE_DRIVERS``): the endpoint is served, a genuine notification from the sandbox
  reaches it, and it must answer ``OK`` with its callback run exactly once.
- **Bash** blocks run line by line (``\\``-continued lines joined) with the sandbox's
  credentials in ``VEXORA_MERCHANT_NO``, ``VEXORA_SECRET``, ``VEXORA_BASE_URL`` and
  ``VEXORA_REGION``, in a directory holding the files they name (``orders.csv``,
  ``payouts.csv``, ``body.json``, ``notify.json``: a sample the README shows, a block marked
  ``file=NAME``, is that file exactly as shown); each must exit 0. With
  ``with=cli-sandbox`` a ``vexora-async sandbox`` runs meanwhile, holding orders T-1..T-3. Rules:
  ``pip install ".[x,y]"`` is checked statically (every extra exists in pyproject.toml; CI's
  own install runs pip for real); ``vexora-async sandbox`` (the server) is started in the
  background on a free port instead of 8080 (which may be taken on a CI machine; the commands
  that talk to it get ``VEXORA_SANDBOX_URL``), must print its base URL, and is stopped with
  SIGINT; ``--orders N`` / ``--payouts N`` above 200 are run with 200, to keep this test short
  (the soaks themselves are tested by tests/test_soak.py and tests/test_soak_payouts.py).
  Lines matching ``SKIPPED_LINES`` (the long benchmark runs) are not run, each with its
  reason; the files a line names are copies in the run directory, never the checkout's.
- ``sql`` is compared with ``PostgresNotificationStore.schema_sql()`` by
  ``tests/test_notify_store.py``; ``text`` (a sample log line) is compared in shape with a
  line the SDK really logs.

Every block not run here is in ``SKIPS`` with the reason.
"""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from vexora_async import CheckoutRequest, VexoraClient, signing
from vexora_async.sandbox import NotifyRecorder, SandboxMerchant, SandboxThread

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SECRET = "your-app-secret"
MERCHANTS = {
    "IDR": "0000000001",
    "PAYPRO_IDR": "0000000002",
    "PHP": "0000000003",
    "KHR": "0000000004",
    "USD": "0000000005",
}
LONG_RUN_CAP = 200
# The README's payers: what its blocks print or log must not show them.
PAYER_DATA = ("081234567890", "budi@example.com", "6281245907765", "0912345678",
              "808-0368988888888", "203.0.113.7", "5464438554636")

# (section heading, language) -> why the block is not run here.
SKIPS = {
    ("Notification stores for replicas", "python"): "needs Redis and PostgreSQL servers: run "
    "by tests/test_notify_store.py::test_the_readme_scaling_out_examples_run",
    ("A rate limit every worker shares", "python"): "needs a Redis server: run by "
    "tests/test_notify_store.py::test_the_readme_scaling_out_examples_run",
    ("Notification stores for replicas", "sql"): "compared with schema_sql() by "
    "tests/test_notify_store.py::test_the_readme_shows_the_table_the_store_creates",
    ("Batches on many machines", "bash"): "needs a PostgreSQL server: the same command runs "
    "against a real one in tests/test_batch_postgres.py (three workers, one killed)",
    ("Batches on many machines", "sql"): "compared with the journal's schema_sql() by "
    "tests/test_batch_postgres.py::test_the_readme_shows_the_tables_the_journal_creates",
    ("Development", "bash"): "the lint, type and test commands are what .ci/run runs "
    "(in a fresh virtualenv); running the suite from inside itself would recurse",
}
# Lines of a run bash block that are not run (a regex matching the whole line), and why.
SKIPPED_LINES = {
    r"python -m benchmarks(\s+#.*)?": "the full benchmark: 10,000 links per client and "
    "concurrency, 9 repeats (minutes on 2 CPUs)",
    r"python -m benchmarks --repeat .*": "a full benchmark run, repeated",
    r"python -m benchmarks --quick.*": "run by .ci/run itself (`python -m benchmarks --quick`) "
    "after the tests; it takes most of a minute, over this test's budget",
    r"python -m benchmarks\.instructions .*": "counts instructions under valgrind: minutes per "
    "run; reading its counts is tested by tests/test_benchmarks.py",
    r"python -m benchmarks\.micro --instructions.*": "every stage under valgrind (minutes); "
    "each stage is run between the markers by tests/test_benchmarks.py",
    r"python -m benchmarks\.batch_cost --instructions.*": "whole batch processes under "
    "valgrind (minutes); the command's own cost is what tests/test_cli_batch*.py exercise",
}


@attrs.frozen
class Block:
    line: int  # of the opening fence
    section: str  # the nearest heading above
    parents: tuple[str, ...]  # every heading above it, outermost first
    language: str
    code: str
    directive: dict[str, str]

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.section.lower()).strip("-")[:40]
        return f"L{self.line}-{self.language}-{slug}"


def readme_blocks() -> list[Block]:
    lines = README.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    headings: dict[int, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if heading := re.match(r"(#{1,6}) (.*)", line):
            level = len(heading.group(1))
            headings = {k: v for k, v in headings.items() if k < level}
            headings[level] = heading.group(2).strip()
        if fence := re.match(r"```(\w*)\s*$", line):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            directive: dict[str, str] = {}
            if found := re.fullmatch(r"<!-- readme-test: (.*) -->", previous.strip()):
                for word in found.group(1).split():
                    key, _, value = word.partition("=")
                    directive[key] = value
            parents = tuple(headings[k] for k in sorted(headings))
            blocks.append(Block(i + 1, parents[-1], parents, fence.group(1),
                                "\n".join(lines[i + 1 : end]) + "\n", directive))
            i = end
        i += 1
    return blocks


BLOCKS = readme_blocks()
NAMED = {b.directive["name"]: b for b in BLOCKS if "name" in b.directive}


def skip_reason(block: Block) -> str | None:
    for section in reversed(block.parents):
        if (section, block.language) in SKIPS:
            return SKIPS[section, block.language]
    return None


# -- the one sandbox ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxThread]:
    merchants = [SandboxMerchant(number, SECRET, region) for region, number in MERCHANTS.items()]
    with SandboxThread(merchants, time_factor=0.001) as served:
        for number in MERCHANTS.values():
            served.sandbox.payouts.fund(number, 10_000_000)
        yield served


_counter = iter(range(1, 1_000_000))


def fresh_trade_no(tag: str = "RD") -> str:
    return f"{tag}{os.getpid() % 10000:04d}{next(_counter):06d}"


def checkout(region: str, notify_url: str) -> CheckoutRequest:
    from vexora_async.regions import get_profile

    sample = get_profile(region).sample
    assert sample is not None
    return attrs.evolve(sample, trade_no=fresh_trade_no(), notify_url=notify_url)


@pytest.fixture(scope="module")
def genuine_notification(sandbox: SandboxThread) -> tuple[str, bytes]:
    """A real "paid" notification body for an IDR order, as the sandbox sent it."""
    import asyncio

    with NotifyRecorder() as recorder:
        request = attrs.evolve(checkout("IDR", recorder.url), amount=150000)

        async def create() -> None:
            async with sandbox.client(MERCHANTS["IDR"]) as client:
                await client.create_payment_link(request)

        asyncio.run(create())
        sandbox.pay(MERCHANTS["IDR"], request.trade_no)
        recorder.wait(1)
        return request.trade_no, recorder.bodies[0]


def base_env(sandbox: SandboxThread) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEXORA_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(VEXORA_MERCHANT_NO=MERCHANTS["IDR"], VEXORA_SECRET=SECRET,
               VEXORA_BASE_URL=sandbox.base_url, VEXORA_REGION="IDR")
    return env


def run_python(code: str, cwd: Path, env: dict[str, str], timeout: float = 60) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    assert "Unclosed client session" not in done.stderr, done.stderr[-2000:]
    for personal in PAYER_DATA:  # the SDK keeps it out of reprs, logs and errors
        assert personal not in done.stdout + done.stderr, personal
    return done.stdout


def swap_base_urls(code: str, url: str) -> str:
    return re.sub(r'base_url="https://[^"]*"', f'base_url="{url}"', code)


# -- Python fragments ------------------------------------------------------------------------

FRAGMENT_PRELUDE = '''
import asyncio, os
from decimal import Decimal
import attrs
from vexora_async import *
from vexora_async.regions import get_profile

def _payouts(count):
    return [PayoutRequest(
        trade_no=f"{os.environ['README_TRADE_NO']}P{i}", amount=20000, customer_name="Jack",
        mobile="081234567890", email="jack@example.com", bank_account_no="5464438554636",
        bank_code="0002", notify_url="https://shop.example/vexora/payouts") for i in range(count)]

async def _readme_block():
    _own = VexoraClient(merchant_no=os.environ["README_MERCHANT_NO"],
                        secret="your-app-secret", region=os.environ["README_REGION"],
                        base_url=os.environ["VEXORA_BASE_URL"])
    async with _own as client:
        request = attrs.evolve(get_profile(os.environ["README_REGION"]).sample,
                               trade_no=os.environ["README_TRADE_NO"])
        requests = _payouts(3)
        try:
{prelude}
{block}
        finally:
            for _value in list(locals().values()):   # a client the block made itself
                if isinstance(_value, VexoraClient) and _value is not _own:
                    await _value.aclose()

asyncio.run(_readme_block())
'''

# Extra names some fragments use, by `prelude=`.
PRELUDES = {
    # vexora_sandbox: the pytest fixture's object, outside pytest.
    "fixtures": """
from vexora_async.sandbox import SandboxThread
vexora_sandbox = SandboxThread(time_factor=0.001).start()
""",
    # sandbox: a Sandbox in this loop, with payout PO-1 under way to an endpoint saying OK.
    "payout-sandbox": """
from vexora_async.sandbox import NotifyRecorder, run_sandbox
async with run_sandbox(time_factor=0.001) as sandbox, sandbox.client("IDR") as own:
    sandbox.payouts.fund("0000000001", 20000)
    sandbox.payouts.balances.settle()
    recorder = NotifyRecorder().__enter__()
    payout = await own.create_payout(attrs.evolve(requests[0], trade_no="PO-1",
                                                  notify_url=recorder.url))
""",
    # fields, secret, allowed: a checkout body, its secret and the keys it may hold.
    "signing": """
fields = {"merchantNo": "0000000001", "tradeNo": "T1", "amount": 10000,
          "channelCode": "EWALLET", "notifyUrl": "https://shop.example/notify",
          "timestamp": "1763700000000"}
secret = "your-app-secret"
import vexora_async.signing as _signing
fields["sign"] = _signing.sign(fields, secret)
allowed = set(fields)
""",
}


def fragment_script(block: Block, url: str) -> str:
    prelude = PRELUDES.get(block.directive.get("prelude", ""), "")
    code = swap_base_urls(block.code, url)
    if block.directive.get("prelude") == "payout-sandbox":  # the block runs in its `async with`
        code = textwrap.indent(code, "    ")
    return FRAGMENT_PRELUDE.replace("{prelude}", textwrap.indent(prelude, " " * 12)).replace(
        "{block}", textwrap.indent(code, " " * 12))


# -- notification recipes --------------------------------------------------------------------

RECIPE_PRELUDE = '''
import asyncio, json, os
from decimal import Decimal

class _Book:
    """Your orders (or payouts): records each call, knows the amounts in README_ORDERS."""
    def __init__(self):
        self.calls = []
        self.amounts = {k: Decimal(v) for k, v in json.loads(os.environ["README_ORDERS"]).items()}
        self.changed = None
    def __getattr__(self, name):
        async def record(*args):
            self.calls.append([name, *map(str, args)])
            if self.changed is not None:
                self.changed.set()
        return record
    async def get(self, trade_no):
        amount = self.amounts.get(trade_no)
        return None if amount is None else type("Order", (), {"amount": amount})

orders = _Book()
payouts = _Book()
'''

RECIPE_DRIVERS = {
    # Served on 127.0.0.1; the sandbox creates and pays README_TRADE_NO, notifying it.
    "aiohttp": '''
import aiohttp
from vexora_async import CheckoutRequest, VexoraClient

async def _drive():
    orders.changed = asyncio.Event()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    trade_no, base = os.environ["README_TRADE_NO"], os.environ["VEXORA_BASE_URL"]
    async with VexoraClient(merchant_no="0000000001", secret="your-app-secret", region="IDR",
                            base_url=base) as client:
        await client.create_payment_link(CheckoutRequest(
            trade_no=trade_no, amount=150000, username="Budi", mobile="081234567890",
            email="budi@example.com", notify_url=f"http://127.0.0.1:{port}/vexora/notify"))
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/sandbox/pay", json={"tradeNo": trade_no}) as answer:
            assert answer.status == 200, await answer.text()
    await asyncio.wait_for(orders.changed.wait(), 30)
    await runner.cleanup()        # waits for the answer in flight, closes the store
    print(json.dumps(orders.calls))

asyncio.run(_drive())
''',
    # Through starlette's TestClient: a genuine body (README_NOTIFICATION), posted twice.
    "starlette": '''
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

app = Starlette(routes=[Route("/vexora/notify", vexora_notify, methods=["POST"])])
body = bytes.fromhex(os.environ["README_NOTIFICATION"])
with TestClient(app) as http:
    answers = [http.post("/vexora/notify", content=body) for _ in range(2)]
    forged = http.post("/vexora/notify", content=body.replace(b'"0000"', b'"0001"'))
print(json.dumps({"answers": [[a.status_code, a.text] for a in answers],
                  "forged": forged.status_code, "calls": orders.calls}))
''',
    # Served on 127.0.0.1; a payment (README_TRADE_NO) and a payout (PO-...) are notified.
    "payouts": '''
import aiohttp
from vexora_async import CheckoutRequest, PayoutRequest, VexoraClient

async def _drive():
    orders.changed, payouts.changed = asyncio.Event(), asyncio.Event()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    here = f"http://127.0.0.1:{runner.addresses[0][1]}"
    trade_no, base = os.environ["README_TRADE_NO"], os.environ["VEXORA_BASE_URL"]
    async with VexoraClient(merchant_no="0000000001", secret="your-app-secret", region="IDR",
                            base_url=base) as client:
        await client.create_payment_link(CheckoutRequest(
            trade_no=trade_no, amount=150000, username="Budi", mobile="081234567890",
            email="budi@example.com", notify_url=f"{here}/vexora/payments"))
        await client.create_payout(PayoutRequest(
            trade_no="PO-" + trade_no, amount=20000, customer_name="Jack",
            mobile="081234567890", email="jack@example.com", bank_account_no="5464438554636",
            bank_code="0002", notify_url=f"{here}/vexora/payouts"))
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/sandbox/pay", json={"tradeNo": trade_no}) as answer:
            assert answer.status == 200, await answer.text()
    await asyncio.wait_for(orders.changed.wait(), 30)
    await asyncio.wait_for(payouts.changed.wait(), 30)   # settles after 5 s x time factor
    await runner.cleanup()
    print(json.dumps({"payments": orders.calls, "payouts": payouts.calls}))

asyncio.run(_drive())
''',
}


def run_recipe(block: Block, sandbox: SandboxThread, tmp_path: Path,
               genuine: tuple[str, bytes]) -> None:
    kind = block.directive["recipe"]
    used = [NAMED[name].code for name in block.directive.get("uses", "").split(",") if name]
    trade_no = genuine[0] if kind == "starlette" else fresh_trade_no()
    env = base_env(sandbox)
    env.update(README_TRADE_NO=trade_no, README_NOTIFICATION=genuine[1].hex(),
               README_ORDERS=json.dumps({trade_no: "150000", "PO-" + trade_no: "20000"}))
    script = "\n".join([RECIPE_PRELUDE, *used, block.code, RECIPE_DRIVERS[kind]])
    out = json.loads(run_python(script, tmp_path, env).strip().splitlines()[-1])
    if kind == "starlette":
        assert out["answers"] == [[200, "OK"], [200, "OK"]]  # the copy: done already
        assert out["forged"] == 400  # the sign no longer matches
        assert out["calls"] == [["mark_paid", trade_no, "150000", out["calls"][0][3]]]
        return
    payments = out if kind == "aiohttp" else out["payments"]
    assert len(payments) == 1 and payments[0][:3] == ["mark_paid", trade_no, "150000"]
    settled = sandbox.call(sandbox.sandbox.notifications_settled(trade_no, timeout=10))
    assert [(a.status, a.acknowledged) for a in settled] == [(200, True)]
    if kind == "payouts":
        assert out["payouts"] == [["mark_paid_out", "PO-" + trade_no, "20000"]]
        payout = sandbox.call(
            sandbox.sandbox.payouts.notifications_settled("PO-" + trade_no, timeout=10))
        assert [(a.status, a.acknowledged) for a in payout] == [(200, True)]


# -- the pytest example ----------------------------------------------------------------------


def run_pytest_example(block: Block, sandbox: SandboxThread, tmp_path: Path) -> None:
    """The example needs no pytest-asyncio: it passes with the plugin disabled, and with it
    in its default strict mode (the fixtures come from the package's pytest11 entry point;
    `-p vexora_async.pytest_plugin` loads it when the package is not installed)."""
    (tmp_path / "test_example.py").write_text(block.code, encoding="utf-8")
    env = base_env(sandbox)
    plugin = ["-p", "vexora_async.pytest_plugin"] if not _plugin_installed() else []
    for options in (["-p", "no:asyncio"], ["-o", "asyncio_mode=strict"]):
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin, *options,
             "test_example.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=60)  # fmt: skip
        assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-3000:]


def _plugin_installed() -> bool:
    from importlib.metadata import entry_points

    return any(ep.value == "vexora_async.pytest_plugin" for ep in entry_points(group="pytest11"))


# -- bash ------------------------------------------------------------------------------------


def command_lines(code: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", code)
    return [line.strip() for line in joined.splitlines() if line.strip()]


def check_pip_install(line: str) -> None:
    """Static: the extras named exist (CI's own install runs pip for real)."""
    words = shlex.split(line, comments=True)
    assert words[:2] == ["pip", "install"], line
    target = words[-1]
    found = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", target)
    assert found, f"installs {target!r}, not this clone: {line}"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for extra in filter(None, (found.group(1) or "").split(",")):
        assert extra in extras, f"no extra {extra!r} in pyproject.toml: {line}"


def write_inputs(folder: Path, genuine: tuple[str, bytes]) -> None:
    rows = ["trade_no,amount,username,mobile,email,notify_url"]
    rows += [f"{fresh_trade_no('CSV')},{150000 + i},Budi,081234567890,budi@example.com,"
             "https://shop.example/vexora/notify" for i in range(5)]
    (folder / "orders.csv").write_text("\n".join(rows) + "\n")
    rows = ["trade_no,amount,customer_name,mobile,email,bank_account_no,bank_code,notify_url"]
    rows += [f"PO-{fresh_trade_no('CSV')},{20000 + i},Jack,081234567890,jack@example.com,"
             "5464438554636,0002,https://shop.example/vexora/payouts" for i in range(3)]
    (folder / "payouts.csv").write_text("\n".join(rows) + "\n")
    body = {"merchantNo": MERCHANTS["IDR"], "tradeNo": "T1", "amount": 150000,
            "notifyUrl": "https://shop.example/notify", "timestamp": "1763700000000"}
    body["sign"] = signing.sign(body, SECRET)
    (folder / "body.json").write_text(json.dumps(body))
    (folder / "notify.json").write_bytes(genuine[1])
    for block in BLOCKS:  # the README's own samples replace the made ones
        if "file" in block.directive:
            (folder / block.directive["file"]).write_text(block.code, encoding="utf-8")
    results = ROOT / "benchmarks" / "results" / "results.json"  # for `--render` (a copy:
    if results.exists():  # rendering rewrites the .md and .png beside it)
        (folder / "benchmarks" / "results").mkdir(parents=True)
        (folder / "benchmarks" / "results" / "results.json").write_bytes(results.read_bytes())


class Background:
    """`vexora-async sandbox ...` in the background, until stopped with SIGINT."""

    def __init__(self, line: str, env: dict[str, str], cwd: Path) -> None:
        self.port = _free_port()
        words = shlex.split(line, comments=True)
        if "--port" in words:
            words[words.index("--port") + 1] = str(self.port)
        else:
            words += ["--port", str(self.port)]
        self.process = subprocess.Popen(words, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        # It prints its base URL once it serves (a silent hang fails after 30 s).
        if not select.select([self.process.stdout], [], [], 30)[0]:
            self.process.kill()
            pytest.fail(f"{line!r} printed nothing in 30 s")
        first = self.process.stdout.readline()
        assert f"http://127.0.0.1:{self.port}" in first, (first, self.process.stderr)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(15)
        assert code in (0, 130, -signal.SIGINT), code


def is_sandbox_server(line: str) -> bool:
    words = shlex.split(line, comments=True)
    return words[:2] == ["vexora-async", "sandbox"] and (len(words) == 2 or
                                                         words[2].startswith("-"))


def run_bash(block: Block, sandbox: SandboxThread, tmp_path: Path,
             genuine: tuple[str, bytes]) -> None:
    env = base_env(sandbox)
    write_inputs(tmp_path, genuine)
    served: Background | None = None
    if block.directive.get("with") == "cli-sandbox":  # pay/redeliver need a running one
        served = Background("vexora-async sandbox --time-factor 0.001", env, tmp_path)
        env["VEXORA_SANDBOX_URL"] = served.url
        _create_cli_orders(served.url)
    try:
        for line in command_lines(block.code):
            if line.startswith("pip install"):
                check_pip_install(line)
                continue
            if any(re.fullmatch(pattern, line) for pattern in SKIPPED_LINES):
                continue
            if is_sandbox_server(line):
                Background(line, env, tmp_path).stop()
                continue
            line = re.sub(r"--(orders|payouts) (\d+)",
                          lambda m: f"--{m[1]} {min(int(m[2]), LONG_RUN_CAP)}", line)
            done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, (line, done.stdout[-2000:], done.stderr[-3000:])
    finally:
        if served is not None:
            served.stop()


def _create_cli_orders(url: str) -> None:
    """T-1, T-2 and T-3 for merchant 0000000001 of a `vexora-async sandbox`."""
    import asyncio

    async def create() -> None:
        async with VexoraClient(merchant_no="0000000001", secret="TESTSECRET", region="IDR",
                                base_url=url) as client:
            for trade_no in ("T-1", "T-2", "T-3"):
                await client.create_payment_link(CheckoutRequest(
                    trade_no=trade_no, amount=150000, username="Budi",
                    mobile="081234567890", email="budi@example.com",
                    notify_url="http://127.0.0.1:9/notify"))  # fmt: skip

    asyncio.run(create())


# -- text ------------------------------------------------------------------------------------

LOG_SCRIPT = """
import asyncio, attrs, os
from vexora_async import VexoraClient
from vexora_async.regions import get_profile

async def main():
    async with VexoraClient.from_env() as client:
        await client.create_payment_link(attrs.evolve(get_profile("IDR").sample,
                                                      trade_no=os.environ["README_TRADE_NO"]))
asyncio.run(main())
"""


def check_log_sample(block: Block, sandbox: SandboxThread, tmp_path: Path) -> None:
    """The sample line has the shape of a line VEXORA_LOG=debug really prints."""
    command, sample = block.code.strip().splitlines()
    assert command.startswith("$ VEXORA_LOG=debug python")
    env = base_env(sandbox) | {"VEXORA_LOG": "debug", "README_TRADE_NO": fresh_trade_no()}
    done = subprocess.run([sys.executable, "-c", LOG_SCRIPT], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    [line] = [x for x in done.stderr.splitlines() if " checkout trade=" in x]

    def shape(text: str) -> str:
        text = re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", "", text)
        return re.sub(r"=\S+", "=", text)

    assert shape(line) == shape(sample), (line, sample)


# -- the test --------------------------------------------------------------------------------


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block_runs(block: Block, sandbox: SandboxThread, tmp_path: Path,
                           genuine_notification: tuple[str, bytes]) -> None:
    if reason := skip_reason(block):
        pytest.skip(reason)
    if "file" in block.directive:  # a sample input: run by the bash blocks that name it
        name = block.directive["file"]
        assert any(name in b.code for b in BLOCKS if b.language == "bash" and not skip_reason(b))
        return
    if block.language == "python":
        if "pytest" in block.directive:
            run_pytest_example(block, sandbox, tmp_path)
        elif "recipe" in block.directive:
            run_recipe(block, sandbox, tmp_path, genuine_notification)
        else:
            region = block.directive.get("region", "IDR")
            env = base_env(sandbox) | {"README_REGION": region,
                                       "README_MERCHANT_NO": MERCHANTS[region],
                                       "README_TRADE_NO": fresh_trade_no()}
            code = (fragment_script(block, sandbox.base_url) if "fragment" in block.directive
                    else swap_base_urls(block.code, sandbox.base_url))
            run_python(code, tmp_path, env)
    elif block.language == "bash":
        run_bash(block, sandbox, tmp_path, genuine_notification)
    elif block.language == "text":
        check_log_sample(block, sandbox, tmp_path)
    else:
        pytest.fail(f"no rule for a {block.language or 'plain'} block: add one to this test")


def test_every_block_is_seen() -> None:
    """The parser finds every fence (a stray one would shift them all)."""
    fences = sum(1 for line in README.read_text().splitlines() if line.startswith("```"))
    assert fences == 2 * len(BLOCKS)
    used = {name for b in BLOCKS for name in b.directive.get("uses", "").split(",") if name}
    assert used <= set(NAMED), used - set(NAMED)
    known = {"fragment", "region", "prelude", "name", "recipe", "uses", "pytest", "with", "file"}
    for block in BLOCKS:
        assert set(block.directive) <= known, (block.line, block.directive)
        assert block.directive.get("prelude", "") in {"", *PRELUDES}, block.line
        assert block.directive.get("recipe", next(iter(RECIPE_DRIVERS))) in RECIPE_DRIVERS


def test_every_skip_still_applies() -> None:
    """A skip names a block or line the README still has (a stale one hides nothing)."""
    for section, language in SKIPS:
        assert any(section in b.parents and b.language == language for b in BLOCKS), section
    lines = [line for b in BLOCKS if b.language == "bash" for line in command_lines(b.code)]
    for pattern in SKIPPED_LINES:
        assert any(re.fullmatch(pattern, line) for line in lines), pattern
