"""Checked by ``mypy --strict`` in tests/test_batch_typing.py: ``.ok`` narrows a result."""

from vexora_async.batch import BatchResult
from vexora_async.models import PaymentLink


def url_of(result: BatchResult) -> str:
    if result.ok:
        link: PaymentLink = result.link  # narrowed: no Optional left
        return link.payment_url
    error: Exception = result.error
    return f"{result.outcome}: {type(error).__name__}"


def url_or_none(result: BatchResult) -> str | None:
    if not result.ok:
        return None
    return result.link.payment_url
