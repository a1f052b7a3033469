"""The hosted cashier page: plain HTML, one form per outcome a payer can produce."""

from __future__ import annotations

from html import escape

from .codes import STATUS_MESSAGES, STATUS_PARTIAL, STATUS_PROCESSING
from .gateway import default_partial_amount
from .ledger import Order, money_text
from .merchants import SandboxMerchant

__all__ = ["render_cashier", "render_missing"]

_STYLE = (
    "body{font-family:sans-serif;max-width:32em;margin:2em auto}"
    "dt{font-weight:bold}form{display:inline-block;margin:.3em .5em .3em 0}"
    ".error{color:#a00}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def render_cashier(order: Order, merchant: SandboxMerchant, *, error: str | None = None) -> str:
    """The page for one order; its forms POST back to the same URL."""
    status = STATUS_MESSAGES.get(order.status, order.status)
    rows = (
        ("Merchant", order.merchant_no),
        ("Trade number", order.trade_no),
        ("Platform trade number", order.platform_trade_no),
        ("Amount", f"{money_text(order.amount)} ({merchant.profile.name})"),
        ("Paid", money_text(order.paid_amount)),
        ("Status", f"{order.status} {status}"),
    )
    parts = ["<dl>"]
    parts += [f"<dt>{escape(k)}</dt><dd id=\"{_id(k)}\">{escape(v)}</dd>" for k, v in rows]
    parts.append("</dl>")
    if error:
        parts.append(f"<p class=\"error\" role=\"alert\">{escape(error)}</p>")
    if order.status in (STATUS_PROCESSING, STATUS_PARTIAL):
        partial = money_text(default_partial_amount(order, merchant.profile.amount.decimals))
        parts.append(
            _form("paid", "Pay in full")
            + _form(
                "partial",
                "Pay part",
                f"<label>Amount <input name=\"amount\" value=\"{escape(partial)}\" "
                "inputmode=\"decimal\" size=\"12\"></label> ",
            )
            + _form("failed", "Fail the payment")
        )
    elif order.return_url:
        parts.append(f"<p><a href=\"{escape(order.return_url)}\">Back to the merchant</a></p>")
    return _page("Vexora sandbox cashier", "".join(parts))


def render_missing() -> str:
    return _page("Payment not found", "<p>This payment link is unknown to the sandbox.</p>")


def _form(outcome: str, label: str, extra: str = "") -> str:
    return (
        "<form method=\"post\">"
        f"<input type=\"hidden\" name=\"outcome\" value=\"{outcome}\">{extra}"
        f"<button type=\"submit\" name=\"action\" value=\"{outcome}\">{escape(label)}</button>"
        "</form>"
    )


def _id(label: str) -> str:
    return label.lower().replace(" ", "-")
