"""The hosted cashier page a payer sees: the order, and one button per outcome.

Three views, all plain server-rendered HTML with inline CSS (no scripts, nothing fetched):

- ``render_cashier``: what is to pay, with "Pay", "Pay part" and "Decline" actions. Each is a
  form that POSTs to the page's own URL;
- ``render_confirmation``: where the POST redirects (303, POST/redirect/GET), so reloading
  it shows the result again and never pays twice;
- ``render_missing``: an unknown link.

Every value that comes from a request or the ledger is HTML-escaped.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from html import escape

from .codes import STATUS_FAILED, STATUS_PAID, STATUS_PARTIAL, STATUS_PROCESSING
from .ledger import Order, default_partial_amount, money_text
from .merchants import SandboxMerchant

__all__ = [
    "currency_of",
    "format_amount",
    "render_cashier",
    "render_confirmation",
    "render_missing",
]

# How each built-in profile's currency is written: (prefix, thousands, decimal point,
# decimals shown: None = only when the amount has a fraction).
_CURRENCIES: dict[str, tuple[str, str, str, int | None]] = {
    "IDR": ("Rp\u00a0", ".", ",", None),
    "PHP": ("\u20b1", ",", ".", None),
    "KHR": ("KHR\u00a0", ",", ".", None),
    "USD": ("$", ",", ".", 2),
}


def currency_of(merchant: SandboxMerchant) -> str:
    """The ISO currency of a merchant's profile (one without a currency: its name)."""
    return merchant.profile.currency or merchant.profile.name.upper()


def format_amount(amount: Decimal, currency: str) -> str:
    """``Rp 150.000``, ``$12.50``, ``KHR 40,000``, ``₱300``; other currencies ``XYZ 1,234.5``."""
    prefix, thousands, point, shown = _CURRENCIES.get(
        currency, (f"{currency}\u00a0", ",", ".", None)
    )
    if shown is None:
        exponent = amount.normalize().as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        shown = 0 if places == 0 else max(2, places)
    text = format(amount.quantize(Decimal(1).scaleb(-shown), rounding=ROUND_DOWN), f",.{shown}f")
    whole, _, fraction = text.partition(".")
    whole = whole.replace(",", thousands)
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{prefix}{whole.lstrip('-')}{point + fraction if fraction else ''}"


_STYLE = """
*{box-sizing:border-box}
body{margin:0;background:#eef1f6;color:#1f2937;
 font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
.banner{background:#fef3c7;color:#92400e;text-align:center;font-size:13px;padding:6px}
main{max-width:440px;margin:32px auto;padding:0 16px}
.card{background:#fff;border-radius:14px;box-shadow:0 6px 24px rgba(15,23,42,.08);overflow:hidden}
.head{padding:20px 24px;border-bottom:1px solid #e5e7eb}
.merchant{font-size:13px;color:#6b7280;margin:0}
.amount{font-size:34px;font-weight:700;margin:4px 0 0;letter-spacing:-.5px}
.sub{font-size:14px;color:#6b7280;margin:2px 0 0}
dl{margin:0;padding:16px 24px;display:grid;grid-template-columns:auto 1fr;gap:6px 16px;
 font-size:14px}
dt{color:#6b7280}dd{margin:0;text-align:right;font-variant-numeric:tabular-nums;
 overflow-wrap:anywhere}
.actions{padding:8px 24px 24px;display:grid;gap:10px}
button{font:inherit;border:0;border-radius:10px;padding:12px 16px;cursor:pointer;width:100%;
 font-weight:600}
.pay{background:#2563eb;color:#fff}.pay:hover{background:#1d4ed8}
.part{background:#fff;color:#1f2937;border:1px solid #d1d5db}
.fail{background:#fff;color:#b91c1c;border:1px solid #fecaca}
.row{display:flex;gap:8px;align-items:center}
.row label{font-size:14px;color:#6b7280;white-space:nowrap}
.row input{flex:1;min-width:0;font:inherit;padding:10px;border:1px solid #d1d5db;
 border-radius:10px}
.row button{width:auto}
.error{margin:16px 24px 0;padding:10px 12px;background:#fef2f2;color:#991b1b;
 border-radius:10px;font-size:14px}
.result{padding:28px 24px 8px;text-align:center}
.icon{width:56px;height:56px;border-radius:50%;margin:0 auto 8px;display:flex;
 align-items:center;justify-content:center;font-size:30px;color:#fff}
.ok .icon{background:#16a34a}.partial .icon{background:#d97706}.failed .icon{background:#dc2626}
.result h1{font-size:22px;margin:4px 0}
.links{padding:8px 24px 24px;text-align:center;font-size:14px}
a{color:#2563eb}
footer{text-align:center;font-size:12px;color:#9ca3af;margin:16px 0}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        '<div class="banner">Vexora sandbox: test payments only, no money moves</div>'
        f'<main>{body}<footer>Vexora sandbox cashier</footer></main></body></html>'
    )


def _details(order: Order, merchant: SandboxMerchant, currency: str) -> str:
    rows = [
        ("Order", order.trade_no, "trade-no"),
        ("Payment method", _method(order), "method"),
        ("Reference", order.platform_trade_no, "platform-trade-no"),
    ]
    if order.paid_amount:
        rows.append(("Paid so far", format_amount(order.paid_amount, currency), "paid-so-far"))
    if order.remark:
        rows.append(("Note", order.remark, "remark"))
    cells = "".join(
        f'<dt>{escape(label)}</dt><dd id="{key}">{escape(value)}</dd>' for label, value, key in rows
    )
    return f"<dl>{cells}</dl>"


def _method(order: Order) -> str:
    parts = [p for p in (order.channel_code, order.way_code) if p]
    return " \u00b7 ".join(dict.fromkeys(parts)) or "Any"


def _head(order: Order, merchant: SandboxMerchant, currency: str, label: str) -> str:
    due = order.amount - order.paid_amount
    return (
        '<div class="head">'
        f'<p class="merchant">Merchant {escape(merchant.merchant_no)}</p>'
        f'<p class="amount" id="amount">{escape(format_amount(due, currency))}</p>'
        f'<p class="sub">{escape(label)}</p></div>'
    )


def render_cashier(order: Order, merchant: SandboxMerchant, *, error: str | None = None) -> str:
    """The page for one order; its forms POST back to the same URL."""
    currency = currency_of(merchant)
    if order.status not in (STATUS_PROCESSING, STATUS_PARTIAL):
        return render_confirmation(order, merchant, error=error)
    label = "Left to pay" if order.status == STATUS_PARTIAL else "Amount to pay"
    parts = ['<div class="card">', _head(order, merchant, currency, label)]
    if error:
        parts.append(f'<p class="error" role="alert">{escape(error)}</p>')
    parts.append(_details(order, merchant, currency))
    # The payer types what they pay now; the suggestion is half of what is left.
    suggested = default_partial_amount(order, merchant.profile.amount.decimals)
    partial = money_text(suggested - order.paid_amount)
    due = format_amount(order.amount - order.paid_amount, currency)
    parts.append(
        '<div class="actions">'
        + _form("paid", f"Pay {due}", "pay")
        + _form(
            "partial",
            "Pay part",
            "part",
            '<label for="part-amount">Amount</label>'
            f'<input id="part-amount" name="amount" value="{escape(partial)}" '
            'inputmode="decimal" autocomplete="off" required>',
        )
        + _form("failed", "Decline payment", "fail")
        + "</div></div>"
    )
    return _page(f"Pay {due}", "".join(parts))


def render_confirmation(
    order: Order, merchant: SandboxMerchant, *, error: str | None = None
) -> str:
    """The result of the order's payment so far; safe to reload."""
    currency = currency_of(merchant)
    paid = format_amount(order.paid_amount, currency)
    total = format_amount(order.amount, currency)
    if order.status == STATUS_PAID:
        css, icon, title, line = "ok", "\u2713", "Payment successful", f"{paid} paid"
    elif order.status == STATUS_PARTIAL:
        css, icon, title, line = "partial", "\u2026", "Partly paid", f"{paid} of {total} paid"
    elif order.status == STATUS_FAILED:
        css, icon, title, line = "failed", "\u2715", "Payment declined", f"{total} not paid"
    else:
        css, icon, title, line = "partial", "\u2026", "Waiting for payment", f"{total} to pay"
    links = []
    if order.status in (STATUS_PROCESSING, STATUS_PARTIAL):
        links.append(f'<a id="continue" href="/cashier/{escape(order.platform_trade_no)}">'
                     "Pay the rest</a>")
    if order.return_url:
        links.append(f'<a id="return" href="{escape(order.return_url)}">Back to the merchant</a>')
    body = (
        f'<div class="card {css}" id="confirmation" data-status="{escape(order.status)}">'
        f'<div class="result"><div class="icon" aria-hidden="true">{icon}</div>'
        f'<h1 id="result">{escape(title)}</h1><p class="sub" id="result-amount">'
        f"{escape(line)}</p></div>"
        + (f'<p class="error" role="alert">{escape(error)}</p>' if error else "")
        + _details(order, merchant, currency)
        + (f'<div class="links">{" &middot; ".join(links)}</div>' if links else "")
        + "</div>"
    )
    return _page(title, body)


def render_missing() -> str:
    body = (
        '<div class="card"><div class="result failed"><h1>Payment not found</h1>'
        '<p class="sub">This payment link is unknown to the sandbox.</p></div></div>'
    )
    return _page("Payment not found", body)


def _form(outcome: str, label: str, css: str, extra: str = "") -> str:
    button = (
        f'<button type="submit" class="{css}" id="{outcome}" name="outcome" '
        f'value="{outcome}">{escape(label)}</button>'
    )
    inner = f'<div class="row">{extra}{button}</div>' if extra else button
    return f'<form method="post">{inner}</form>'
