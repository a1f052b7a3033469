"""Real Redis and PostgreSQL servers for tests: loopback, free ports, temporary directories.

``start_redis()`` and ``start_postgres()`` return a running server or raise
``ServerUnavailable`` (a binary is missing); ``stop()`` ends the server and removes its
directory. ``tests/conftest.py`` turns them into session fixtures that skip (or, with
``CI=true``, fail) when a server cannot be had.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 60.0


class ServerUnavailable(Exception):
    """A server's binary (or the user to run it as) is not on this machine."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class RedisServer:
    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis() -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable("redis-server not found (apt-get install redis-server)")
    for _ in range(3):  # a free port can be taken between the probe and the bind: retry
        directory = Path(tempfile.mkdtemp(prefix="vexora-redis-"))
        port = free_port()
        log = directory / "redis.log"
        process = subprocess.Popen(
            [
                binary,
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--dir", str(directory),
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--logfile", str(log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = RedisServer(port, directory, process)
        # redis-server has no "started" signal to wait on: poll, bounded.
        deadline = time.monotonic() + START_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            if _redis_answers(port):
                return server
            time.sleep(0.05)
        failure = _tail(log)
        server.stop()
    raise RuntimeError(f"redis-server did not start:\n{failure}")


def _postgres_bin() -> Path:
    found = shutil.which("initdb")
    if found is not None:
        return Path(found).resolve().parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit()
        else 0,
    )
    if not versions:
        raise ServerUnavailable("PostgreSQL's initdb not found (apt-get install postgresql)")
    return Path(versions[-1]).parent


@dataclass
class PostgresServer:
    port: int
    directory: Path
    bin: Path
    as_user: list[str]

    @property
    def dsn(self) -> str:
        return self.dsn_for("postgres")

    def dsn_for(self, user: str) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.directory / "data"), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=check,
            timeout=START_TIMEOUT + 30,
        )

    def stop(self) -> None:
        # Immediate: nothing in a test database needs a clean shutdown.
        self.pg_ctl("-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


def start_postgres() -> PostgresServer:
    bin_dir = _postgres_bin()
    as_user: list[str] = []
    directory = Path(tempfile.mkdtemp(prefix="vexora-pg-"))
    if os.geteuid() == 0:
        # initdb refuses to run as root: run the server as the postgres user, in a
        # directory it owns.
        runuser = shutil.which("runuser")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            owner = None
        if runuser is None or owner is None:
            shutil.rmtree(directory)
            raise ServerUnavailable("running as root needs runuser and a 'postgres' user")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
        as_user = [runuser, "-u", "postgres", "--"]
    server = PostgresServer(0, directory, bin_dir, as_user)
    try:
        subprocess.run(
            [
                *as_user, str(bin_dir / "initdb"),
                "-D", str(directory / "data"),
                "-U", "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=True,
            timeout=START_TIMEOUT,
        )
        for _ in range(3):  # the port can be taken between the probe and the bind: retry
            server.port = free_port()
            options = (
                f"-h 127.0.0.1 -p {server.port} -k {directory}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            started = server.pg_ctl(
                "-l", str(directory / "postgres.log"),
                "-o", options,
                "-w", "-t", str(int(START_TIMEOUT)),
                "start",
                check=False,
            )
            if started.returncode == 0:
                return server
            server.pg_ctl("-m", "immediate", "-w", "stop", check=False)
        raise RuntimeError(f"postgres did not start:\n{_tail(directory / 'postgres.log')}")
    except BaseException:
        server.stop()
        raise


def kill(process_id: int) -> None:
    """SIGKILL, the crash a process gets no say in."""
    os.kill(process_id, signal.SIGKILL)
