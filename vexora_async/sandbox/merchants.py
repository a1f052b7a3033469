"""Merchant accounts the sandbox knows: number, secret and the region profile that rules them."""

from __future__ import annotations

import attrs

from ..credentials import check_merchant_no, check_secret
from ..errors import ConfigurationError
from ..regions import RegionProfile, get_profile

__all__ = ["TEST_MERCHANTS", "SandboxMerchant", "parse_merchant"]

def _profile(value: str | RegionProfile) -> RegionProfile:
    return get_profile(value)


def _check_merchant_no(_: object, __: object, value: str) -> None:
    check_merchant_no(value)


def _check_secret(_: object, __: object, value: str) -> None:
    check_secret(value)


@attrs.frozen
class SandboxMerchant:
    """One merchant account. ``profile`` is a registered profile name or a ``RegionProfile``
    (custom ones included); it decides the rules, the paths and the answer's shape
    (``RegionProfile.response``)."""

    merchant_no: str = attrs.field(validator=_check_merchant_no)
    secret: str = attrs.field(validator=_check_secret, repr=lambda _: "'***'")
    profile: RegionProfile = attrs.field(
        factory=lambda: get_profile("IDR"), converter=_profile, repr=lambda p: repr(p.name)
    )
    @property
    def checkout_path(self) -> str:
        return self.profile.checkout_path

    @property
    def query_path(self) -> str:
        return self.profile.query_path


# One merchant per built-in profile, with well-known secrets (the pytest fixture uses these).
TEST_MERCHANTS: tuple[SandboxMerchant, ...] = (
    SandboxMerchant("0000000001", "TESTSECRET", "IDR"),
    SandboxMerchant("0000000002", "TESTSECRET-PAYPRO", "PAYPRO_IDR"),
    SandboxMerchant("0000000003", "TESTSECRET-PHP", "PHP"),
    SandboxMerchant("0000000004", "TESTSECRET-KHR", "KHR"),
    SandboxMerchant("0000000005", "TESTSECRET-USD", "USD"),
)


def parse_merchant(spec: str) -> SandboxMerchant:
    """``NO:SECRET[:PROFILE]`` (the console script's ``--merchant``), profile ``IDR`` when
    left out. A secret holding colons needs the profile spelled out: the last colon starts it.
    """
    number, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ConfigurationError("a merchant is NO:SECRET[:PROFILE]")
    secret, sep, profile = rest.rpartition(":")
    if not sep or not secret:
        secret, profile = rest, "IDR"
    return SandboxMerchant(number, secret, profile)
