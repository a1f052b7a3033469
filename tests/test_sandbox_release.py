"""A stopped sandbox is freed: nothing in the process keeps it, its ledger or its orders.

A test suite starts a sandbox per test (the pytest fixture does). aiohttp keeps a process-wide
cache of middleware-wrapped handlers (up to 1,024); a sandbox whose handlers went through it
stayed alive in that cache with every order it ever recorded, so a long suite slowed down as
its heap grew (each full garbage collection walks it).
"""

from __future__ import annotations

import gc
import weakref

from vexora_async.sandbox import SandboxThread, ServerLimits, run_sandbox

from .test_sandbox_support import checkout_request


async def test_a_sandbox_served_in_the_loop_is_freed_once_it_stops() -> None:
    async with run_sandbox(time_factor=0.001, limits=ServerLimits(body_timeout=5)) as sandbox:
        async with sandbox.client("IDR") as client:
            for n in range(3):
                await client.create_payment_link(checkout_request("IDR", f"REL-{n}"))
        assert len(sandbox.ledger.orders()) == 3
        freed = weakref.ref(sandbox)
        ledger = weakref.ref(sandbox.ledger)
    del sandbox, client
    gc.collect()
    assert freed() is None
    assert ledger() is None


async def test_a_sandbox_thread_is_freed_once_it_stops() -> None:
    # The pytest fixture's way: the sandbox in a thread of its own, the client in the test.
    with SandboxThread(time_factor=0.001) as served:
        async with served.client("IDR") as client:
            await client.create_payment_link(checkout_request("IDR", "REL-T"))
        assert served.ledger.order("REL-T") is not None
        ledger = weakref.ref(served.ledger)
    del served, client
    gc.collect()
    assert ledger() is None
