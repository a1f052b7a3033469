"""The benchmark suite: what the SDK costs next to the clients people write by hand.

    python -m benchmarks                      # N=10,000, concurrency 64 and 256, 9 repeats
    python -m benchmarks --quick              # a smoke run, 15-30 s (CI runs it)
    python -m benchmarks --n 50000 --concurrency 64 --clients floor,sdk --repeat 3

The headline is each client's own CPU per link (user and system) against a stub gateway
that costs a fraction of any client (``benchmarks/stub.py``); ratios and differences
between clients are computed within each repeat. Then an end-to-end table against the
package's sandbox, the SDK's stage breakdown and the peak RSS of ``create_payment_links``.
The gateway runs in a process of its own, pinned to one CPU; each client run is a fresh
process pinned to another. Writes ``<out>/<name>.json``, ``.md`` and ``.png`` (``results``
for a full run, ``quick`` for ``--quick``) and prints the Markdown report. For a
deterministic A/B count, see ``python -m benchmarks.instructions``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import report, stats
from .clients import CLIENTS
from .common import cpus
from .server import READY

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path(__file__).resolve().parent / "results"
DEFAULT_CLIENTS = (
    "floor", "aiohttp", "sdk", "sdk-http11", "sdk-uvloop", "sdk-batch", "sdk-stdjson", "sdk-httpx",
    "requests",
)
QUICK_CLIENTS = ("floor", "aiohttp", "sdk", "sdk-http11", "sdk-uvloop", "sdk-batch", "requests")
E2E_CLIENTS = ("floor", "aiohttp", "sdk", "sdk-http11", "requests")
QUICK_E2E_CLIENTS = ("floor", "sdk")
STUB = "benchmarks.stub"
SANDBOX = "benchmarks.server"
_SERVER_START_TIMEOUT = 30.0
_TAG_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"


class BenchmarkError(Exception):
    pass


def _csv_ints(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("expected positive integers separated by commas")
    return values


def _csv_clients(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in CLIENTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown client(s) {', '.join(unknown)}; known: {', '.join(CLIENTS)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--n", type=int, default=None, help="links per client run (10000)")
    parser.add_argument("--concurrency", type=_csv_ints, default=None,
                        help="requests in flight, comma-separated (64,256)")
    parser.add_argument("--clients", type=_csv_clients, default=None,
                        help=f"comma-separated, from {', '.join(CLIENTS)} (all; with --quick "
                        f"{','.join(QUICK_CLIENTS)})")
    parser.add_argument("--requests-n", type=int, default=None,
                        help="links for the requests client (at most 3000; 300 with --quick)")
    parser.add_argument("--httpx-n", type=int, default=None,
                        help="links for the httpx transport, slow at high concurrency "
                        "(at most 1000; 300 with --quick)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="links per run before the clock starts (500)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per client and concurrency, interleaved (9; 1 with --quick)")
    parser.add_argument("--e2e-clients", type=_csv_clients, default=None,
                        help="clients of the end-to-end run against the sandbox "
                        f"({','.join(E2E_CLIENTS)}; with --quick {','.join(QUICK_E2E_CLIENTS)})")
    parser.add_argument("--e2e-n", type=int, default=None,
                        help="links per end-to-end run (as --n; 300 with --quick)")
    parser.add_argument("--e2e-repeat", type=int, default=1,
                        help="repeats of the end-to-end run (1)")
    parser.add_argument("--no-e2e", action="store_true",
                        help="skip the end-to-end run against the sandbox")
    parser.add_argument("--batch-sizes", type=_csv_ints, default=None,
                        help="N for the batch peak-RSS runs (10000,100000)")
    parser.add_argument("--batch-concurrency", type=int, default=256)
    parser.add_argument("--no-micro", action="store_true", help="skip the stage micro-costs")
    parser.add_argument("--no-batch", action="store_true", help="skip the batch RSS runs")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: N=1000, concurrency 32, small batches, short timings")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output directory (benchmarks/results)")
    parser.add_argument("--name", default=None, help="file name stem (results, or quick)")
    parser.add_argument("--render", type=Path, default=None, metavar="JSON",
                        help="measure nothing: write the report (.md, .png) of an earlier "
                        "run's JSON file next to it")
    parser.add_argument("--server-cpu", type=int, default=None,
                        help="CPU for the server (the first allowed one)")
    parser.add_argument("--client-cpu", type=int, default=None,
                        help="CPU for the clients (the second allowed one)")
    return parser


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill in the defaults, which depend on ``--quick``."""
    quick = args.quick
    # Shorter runs, more repeats: the targets are judged by an interval of the median, which
    # narrows with repeats (a run of 10,000 links is already seconds of CPU).
    args.n = args.n or (1_000 if quick else 10_000)
    args.concurrency = args.concurrency or ([32] if quick else [64, 256])
    args.clients = args.clients or list(QUICK_CLIENTS if quick else DEFAULT_CLIENTS)
    args.requests_n = args.requests_n or min(args.n, 300 if quick else 3_000)
    args.httpx_n = args.httpx_n or min(args.n, 300 if quick else 1_000)
    args.warmup = args.warmup if args.warmup is not None else (100 if quick else 500)
    args.repeat = args.repeat or (1 if quick else 9)
    args.e2e_clients = args.e2e_clients or list(QUICK_E2E_CLIENTS if quick else E2E_CLIENTS)
    args.e2e_n = args.e2e_n or (min(args.n, 300) if quick else args.n)
    args.batch_sizes = args.batch_sizes or ([1_000, 5_000] if quick else [10_000, 100_000])
    args.name = args.name or ("quick" if quick else "results")
    if min(args.repeat, args.n, args.e2e_n, args.e2e_repeat) < 1:
        raise SystemExit("python -m benchmarks: --n, --repeat and the --e2e ones must be positive")
    missing = {
        name: module
        for name in {*args.clients, *args.e2e_clients}
        for module in CLIENTS[name].needs
        if importlib.util.find_spec(module) is None
    }
    for name, module in sorted(missing.items()):
        print(f"note: skipping client {name}: {module} is not installed "
              "(pip install '.[bench]' in the repository)", file=sys.stderr)
    args.clients = [name for name in args.clients if name not in missing]
    args.e2e_clients = [name for name in args.e2e_clients if name not in missing]
    if not args.clients:
        raise SystemExit("python -m benchmarks: no client left to run")
    allowed = cpus()
    if args.server_cpu is None and args.client_cpu is None and len(allowed) >= 2:
        args.server_cpu, args.client_cpu = allowed[0], allowed[1]
    return args


def _python(module: str, *options: object) -> list[str]:
    return [sys.executable, "-m", module, *(str(option) for option in options)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@contextlib.contextmanager
def gateway(module: str, cpu: int | None) -> Iterator[tuple[str, int]]:
    """Start a gateway process (``STUB`` or ``SANDBOX``), yield (base URL, pid); always stop
    it, Ctrl+C included."""
    command = _python(module, "--parent-pid", os.getpid())
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        # A server that never says it is ready is killed, which ends readline() below.
        timer = threading.Timer(_SERVER_START_TIMEOUT, process.kill)
        timer.start()
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
        finally:
            timer.cancel()
        if not line.startswith(READY):
            raise BenchmarkError(f"{module} did not start (see its output above)")
        yield line.split()[1], process.pid
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _subprocess_json(command: list[str], what: str) -> dict[str, Any]:
    done = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise BenchmarkError(f"{what} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


class _Tags:
    """Two-character tags, so every run's trade numbers are new to the long-lived server."""

    def __init__(self) -> None:
        self._next = 0

    def __call__(self) -> str:
        value, self._next = self._next, self._next + 1
        return _TAG_CHARS[value // 36 % 36] + _TAG_CHARS[value % 36]


def run_clients(args: argparse.Namespace, clients: Sequence[str], repeats: int, n_default: int,
                base_url: str, server_pid: int, run_id: str, tag: _Tags,
                server: str) -> list[dict[str, Any]]:
    """Every client once per repeat and concurrency, the order rotated each repeat."""
    runs: list[dict[str, Any]] = []
    for repeat in range(repeats):
        # Rotate the order each repeat: no client is always the one after the slowest.
        shift = repeat % len(clients)
        order = [*clients[shift:], *clients[:shift]]
        for concurrency in args.concurrency:
            for client in order:
                n = {"requests": args.requests_n, "sdk-httpx": args.httpx_n}.get(client, n_default)
                n = min(n, n_default)
                command = _python(
                    "benchmarks.worker", "--client", client, "--base-url", base_url,
                    "--n", n, "--concurrency", concurrency, "--warmup", args.warmup,
                    "--run-id", run_id, "--tag", tag(), "--server-pid", server_pid,
                )
                if args.client_cpu is not None:
                    command += ["--cpu", str(args.client_cpu)]
                print(f"  #{repeat + 1} {client:<12} c={concurrency:<4} n={n:<7}", end="",
                      flush=True)
                result = _subprocess_json(command, f"client {client}")
                result["repeat"] = repeat
                runs.append(result)
                errors = f", {result['errors']} errors" if result["errors"] else ""
                busy = result["server_cpu_util"]
                print(f" {result['links_per_s']:>8,.0f} links/s, CPU "
                      f"{result['cpu_us_per_link']:>6,.1f} µs/link (user "
                      f"{result['cpu_user_us_per_link']:,.1f} + sys "
                      f"{result['cpu_sys_us_per_link']:,.1f}), {server} "
                      f"{'?' if busy is None else f'{busy:.0%}'} busy{errors}", flush=True)
    return runs


def run_batches(args: argparse.Namespace, base_url: str, run_id: str, tag: _Tags
                ) -> list[dict[str, Any]]:
    found = []
    for n in args.batch_sizes:
        command = _python(
            "benchmarks.batch_rss", "--base-url", base_url, "--n", n,
            "--concurrency", args.batch_concurrency, "--run-id", run_id, "--tag", tag(),
        )
        if args.client_cpu is not None:
            command += ["--cpu", str(args.client_cpu)]
        print(f"  batch        c={args.batch_concurrency:<4} n={n:<7}", end="", flush=True)
        result = _subprocess_json(command, f"batch of {n}")
        found.append(result)
        print(f" peak RSS {result['peak_rss_mib']:.1f} MiB, {result['links_per_s']:,.0f} links/s")
    return found


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            name: _version(name)
            for name in ("vexora_async", "aiohttp", "httpx", "requests", "orjson", "uvloop")
        },
    }


def _micro(quick: bool) -> dict[str, Any]:
    # In a process of its own too: this one has imported nothing of the SDK's hot path.
    command = _python("benchmarks.micro", "--json", *(["--quick"] if quick else []))
    return _subprocess_json(command, "micro-benchmarks")


def _load() -> list[float]:
    with contextlib.suppress(OSError, AttributeError):
        return [round(value, 2) for value in os.getloadavg()]
    return []


def execute(args: argparse.Namespace) -> dict[str, Any]:
    run_id = secrets.token_hex(3)
    tag = _Tags()
    meta = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "run_id": run_id,
        "machine": machine(),
        "gateway": "stub",
        "server_cpu": args.server_cpu,
        "client_cpu": args.client_cpu,
        "load_average": {"start": _load()},
        "settings": {
            "n": args.n, "requests_n": args.requests_n, "httpx_n": args.httpx_n,
            "concurrency": args.concurrency,
            "clients": args.clients, "warmup": args.warmup, "repeat": args.repeat,
            "e2e_clients": [] if args.no_e2e else args.e2e_clients, "e2e_n": args.e2e_n,
            "e2e_repeat": args.e2e_repeat,
            "batch_sizes": [] if args.no_batch else args.batch_sizes,
            "batch_concurrency": args.batch_concurrency, "quick": args.quick,
        },
    }
    result: dict[str, Any] = {"meta": meta}
    if not args.no_micro:
        print("stage breakdown of the SDK (timeit) ...", flush=True)
        result["micro"] = _micro(args.quick)
    with gateway(STUB, args.server_cpu) as (base_url, server_pid):
        print(f"stub gateway at {base_url} (pid {server_pid}, CPU {args.server_cpu}); "
              f"clients on CPU {args.client_cpu}", flush=True)
        runs = run_clients(args, args.clients, args.repeat, args.n, base_url, server_pid,
                           run_id, tag, "stub")
    result["results"] = stats.summarize(runs, args.clients, args.concurrency)
    result["paired"] = stats.paired(runs, args.concurrency)
    result["runs"] = runs
    if not (args.no_e2e and args.no_batch):
        with gateway(SANDBOX, args.server_cpu) as (base_url, server_pid):
            print(f"sandbox gateway at {base_url} (pid {server_pid}, CPU {args.server_cpu})",
                  flush=True)
            if not args.no_e2e and args.e2e_clients:
                e2e_runs = run_clients(args, args.e2e_clients, args.e2e_repeat, args.e2e_n,
                                       base_url, server_pid, run_id, tag, "sandbox")
                result["e2e"] = {
                    "gateway": "sandbox",
                    "repeat": args.e2e_repeat,
                    "results": stats.summarize(e2e_runs, args.e2e_clients, args.concurrency),
                    "runs": e2e_runs,
                }
            if not args.no_batch:
                result["batch_rss"] = run_batches(args, base_url, run_id, tag)
    meta["load_average"]["end"] = _load()
    result["targets"] = report.evaluate_targets(result)
    return result


def write(result: dict[str, Any], out: Path, name: str) -> tuple[str, list[Path]]:
    out.mkdir(parents=True, exist_ok=True)
    text = report.markdown(result)
    paths = [out / f"{name}.json", out / f"{name}.md"]
    paths[0].write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(text, encoding="utf-8")
    image = out / f"{name}.png"
    problem = report.plot(result, image)
    if problem is None:
        paths.append(image)
    else:
        print(f"note: {problem}", file=sys.stderr)
    return text, paths


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through the finally blocks that stop the server


def render(path: Path) -> int:
    """Rewrite an earlier run's Markdown and plot (and its targets) from its JSON."""
    result = json.loads(path.read_text(encoding="utf-8"))
    result["targets"] = report.evaluate_targets(result)
    text, paths = write(result, path.parent, path.stem)
    print(text)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parsed = build_parser().parse_args(argv)
    if parsed.render is not None:
        return render(parsed.render)
    args = resolve(parsed)
    with contextlib.suppress(ValueError):  # only the main thread may set handlers
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        result = execute(args)
    except BenchmarkError as exc:
        print(f"python -m benchmarks: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: the gateway was stopped", file=sys.stderr)
        return 130
    text, paths = write(result, args.out, args.name)
    print()
    print(text)
    print("wrote " + ", ".join(str(path) for path in paths))
    return 0
