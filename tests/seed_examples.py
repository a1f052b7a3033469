"""The request and response examples of the gateway's pages (../shared/seeds), as data.

Copied by hand so the tests run without the seeds beside the repo. Where SPEC.md records a
decision that departs from an example, the comment says so.
"""

from __future__ import annotations

from typing import Any

# Vexora Indonesia and Paypro Indonesia: the same body (Paypro's email is obfuscated in the
# page, so a plain address stands in for it). Paypro types `timestamp` as a number.
IDR_REQUEST: dict[str, Any] = {
    "sign": "363b4674a1c1772e8a50295dc19d6727",
    "timestamp": "1732988442913",
    "tradeNo": "0b4ece82fa9749e8b8e57fa64931b7f8",
    "username": "jack",
    "amount": 1000000,
    "channelCode": "EWALLET",
    "wayCode": "DANA",
    "email": "user@gmail.com",
    "mobile": "6281245907765",
    "notifyUrl": "https://google.com",
    "returnUrl": "http://abc.com/callback_page",
    "remark": "test",
}

PHP_NET_BANKING_REQUEST: dict[str, Any] = {
    "sign": "f53ee692f15d0329a1461373b67ff25a",
    "timestamp": "1724142041682",
    "tradeNo": "00000007",
    "amount": "300",
    "mobile": "0912345678",
    "firstname": "abc",
    "lastname": "efg",
    "email": "123@gmail.com",
    "channelCode": "NET_BANKING",
    "wayCode": "BANK_TRANSFER",
    "ipAddress": "192.168.0.1",
    "bankNumber": "808-0368988888888",
    "notifyUrl": "https://google.com",
    "returnUrl": "http://abc.com/callback_page",
    "remark": "000000",
}

PHP_STORE_REQUEST: dict[str, Any] = {
    "sign": "f53ee692f15d0329a1461373b67ff25a",
    "timestamp": "1724142041682",
    "tradeNo": "00000007",
    "amount": "300",
    "channelCode": "STORE",
    "wayCode": "711",
    "ipAddress": "192.168.0.1",
    "mobile": "0912345678",
    "firstname": "abc",
    "lastname": "efg",
    "postcode": "123",
    "address": "123",
    "email": "123@gmail.com",
    "notifyUrl": "https://google.com",
    "returnUrl": "http://abc.com/callback_page",
    "remark": "000000",
}

# SPEC §4 decision: the page's mobile "09123456789" breaks its own 8-9 digit rule; the SDK
# sends the normalised 8-9 digits, so the example is built with a valid number.
CAMBODIA_REQUEST: dict[str, Any] = {
    "sign": "a8f5f167f44f4964e6c998dee827110c",
    "timestamp": "1719876543210",
    "tradeNo": "VX20260331000125",
    "amount": "300",
    "mobile": "91234567",
    "firstname": "Rizky",
    "lastname": "Pratama",
    "email": "123@gmail.com",
    "channelCode": "KHQR",
    "wayCode": "KHQR",
    "notifyUrl": "https://merchant-api.com/vexora/payment/notify",
    "returnUrl": "https://merchant.com/payment/result",
    "remark": "order_vx_000125",
}

_QRIS = (
    "00020101021226670021ID/.HTTPS://CFSUKSESS011893600922376110100202097611010020303UMI5144"
    "0014ID.CO.QRIS.WWW0215ID20243249690030303UMI520465335802ID5902CF6015 JAKARTA SELATA6105"
    "12760540550000530336062360525db913be449be4568b21c4b19e0703A0163041909"
)

IDR_RESPONSE: dict[str, Any] = {
    "msg": "success",
    "code": "0000",
    "timestamp": 1728609277476,
    "success": True,
    "data": {
        "tradeNo": "428c430ce59b47138674c971ff07a711",
        "platFormTradeNo": "c167o1itir0fypid",
        "status": "0015",
        "desc": "Paying",
        "remark": "11111",
        "paymentUrl": "http://vexora.tech/cashier/dsfjlsdkjflksdfjlkfs",
        "qrString": _QRIS,
    },
}

PAYPRO_RESPONSE: dict[str, Any] = {
    **IDR_RESPONSE,
    "data": {
        **IDR_RESPONSE["data"],
        "paymentUrl": "http://paypro.tech/cashier/dsfjlsdkjflksdfjlkfs",
    },
}

# The PHP page's table says `paymentLink`, its example sends `paymentUrl` (SPEC §5).
PHP_RESPONSE: dict[str, Any] = {
    "msg": "success",
    "code": "0000",
    "timestamp": 1728609277476,
    "success": True,
    "data": {
        "tradeNo": "428c430ce59b47138674c971ff07a711",
        "platFormTradeNo": "c167o1itir0fypid",
        "status": "0015",
        "desc": "Paying",
        "remark": "11111",
        "paymentUrl": "https://ccutest.dj70000.com/?data=0ae849a17a57ad6fa6edfa42c208b042",
    },
}

# The page's example is missing a closing quote after `payInfo`; this is it, repaired.
CAMBODIA_RESPONSE: dict[str, Any] = {
    "msg": "success",
    "code": "0000",
    "timestamp": 1719876543210,
    "success": True,
    "data": {
        "tradeNo": "VX20260331000125",
        "platFormTradeNo": "vx8f3k29d0qplm7x2",
        "status": "0015",
        "message": "Processing",
        "remark": "order_vx_000125",
        "paymentLink": "https://checkout.vexora.com/pay?token=8f3k29d0qplm7x2a9bc45de7812fg90",
        "payInfo": "00020101021229440013testkhqr@01099691002030210Pay5204599953038405402105802KH59",
    },
}
