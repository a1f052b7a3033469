"""Merchant accounts the sandbox knows: number, secret and the region profile that rules them."""

from __future__ import annotations

import re
from typing import Literal

import attrs

from ..errors import ConfigurationError
from ..regions import RegionProfile, get_profile

__all__ = ["TEST_MERCHANTS", "ResponseStyle", "SandboxMerchant", "parse_merchant"]

# Which documented checkout answer a merchant gets (SPEC §5): the field names differ by system.
ResponseStyle = Literal["indonesia", "php", "cambodia"]

_STYLE_BY_PROFILE: dict[str, ResponseStyle] = {
    "IDR": "indonesia",
    "PAYPRO_IDR": "indonesia",
    "PHP": "php",
    "KHR": "cambodia",
    "USD": "cambodia",
}
_MERCHANT_NO = re.compile(r"\d{1,32}")


def _profile(value: str | RegionProfile) -> RegionProfile:
    return get_profile(value)


def _check_merchant_no(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or _MERCHANT_NO.fullmatch(value) is None:
        raise ConfigurationError("merchant_no must be the merchant number's digits")


def _check_secret(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigurationError("secret must be a non-empty string")


@attrs.frozen
class SandboxMerchant:
    """One merchant account. ``profile`` is a registered profile name or a ``RegionProfile``
    (custom ones included); it decides the rules, the paths and the answer's shape.

    ``response_style`` picks the documented answer shape; by default the built-in profiles
    get their own and any other profile the Indonesian one.
    """

    merchant_no: str = attrs.field(validator=_check_merchant_no)
    secret: str = attrs.field(validator=_check_secret, repr=lambda _: "'***'")
    profile: RegionProfile = attrs.field(
        factory=lambda: get_profile("IDR"), converter=_profile, repr=lambda p: repr(p.name)
    )
    response_style: ResponseStyle = attrs.field()

    @response_style.default
    def _style_default(self) -> ResponseStyle:
        return _STYLE_BY_PROFILE.get(self.profile.name.upper(), "indonesia")

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
