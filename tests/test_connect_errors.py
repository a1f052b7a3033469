"""``ConnectError`` wording: host and port, and the operating system's reason in words."""

from __future__ import annotations

import errno
import socket
import ssl

import pytest

from vexora_async.transports.connect_errors import connect_error, connect_reason


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('::1', 1)"),
         "connection refused"),
        (OSError(errno.ENETUNREACH, "x"), "network is unreachable"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
         "cannot resolve the host (Name or service not known)"),
        (TimeoutError(), "timed out"),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
         "TLS handshake failed (SSLError)"),
        (OSError("Multiple exceptions: [Errno 111] a,\n[Errno 111] b"),
         "multiple exceptions: [Errno 111] a, [Errno 111] b"),
        (OSError(), "OSError"),
    ],
)  # fmt: skip
def test_reasons_in_words(cause: BaseException, reason: str) -> None:
    assert connect_reason(cause) == reason


def test_a_certificate_refusal_says_so() -> None:
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cause.verify_message = "self-signed certificate"
    assert connect_reason(cause) == "TLS certificate not accepted (self-signed certificate)"


def test_the_message_names_host_and_port_only() -> None:
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "refused")
    assert str(connect_error("127.0.0.1", 1, refused)) == (
        "could not connect to 127.0.0.1:1: connection refused"
    )
    ipv6 = connect_error("::1", 8443, "timed out")
    assert str(ipv6) == "could not connect to [::1]:8443: timed out"
    unknown = connect_error(None, None, "timed out")
    assert str(unknown) == "could not connect to the gateway: timed out"
    long = OSError("x" * 1000)
    assert len(str(connect_error("h", 1, long))) < 260
