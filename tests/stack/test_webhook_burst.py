"""Webhook burst against the local stack: N signed Stripe deliveries from 16 threads.

30 % duplicates; completions of sessions bought through POST /checkout and paid on the
emulator's page, refunds of some of them, and event types the endpoint ignores, while
the emulator delivers the same events too. Exactly-once effects, nothing lost
(bench/burst.py has the scenario and the checks). CI runs N=200; LECTERN_BURST_N raises
it (up to 1000); `make bench-burst` runs 1000 and records the figures in
docs/performance.md.
"""
import os

import pytest

from support.stack_process import E2E_WEBHOOK_SECRET

from bench.burst import Stack, run_burst

pytestmark = pytest.mark.stack

DEFAULT_N, MAX_N = 200, 1000


def burst_size() -> int:
    n = int(os.environ.get("LECTERN_BURST_N") or DEFAULT_N)
    assert 10 <= n <= MAX_N, f"LECTERN_BURST_N must be between 10 and {MAX_N}"
    return n


def test_burst_of_signed_deliveries_has_exactly_once_effects(local_stack):
    report = run_burst(Stack(local_stack.urls, E2E_WEBHOOK_SECRET), burst_size(), threads=16)
    print("\n" + report.summary())
    assert report.ok, "\n".join(report.problems[:30])
    assert report.statuses.keys() <= {200, 500}  # 500 = "retry later" (a refund before its payment)
    assert report.attempts >= report.n
