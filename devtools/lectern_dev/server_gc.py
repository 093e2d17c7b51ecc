"""Garbage collection for the local stack's long-running processes (the embedded AWS, the stack's
front doors and Stripe emulator), never for a function's environment, which keeps Python's defaults
as Lambda does.

Both processes make many short-lived objects per request and keep a large, growing set of long-lived
ones (moto's tables, the emulator's objects). With Python's defaults a webhook burst spent about 5 % of
their CPU in the collector (docs/performance.md, "Webhook burst"); what they built at start-up is
kept out of every later collection, and young collections run less often.
"""
import gc

# Young collections every 20,000 net allocations (Python: 2,000); an older generation every 20 of the
# one below (Python: 10). Memory is not the constraint on a developer's machine.
THRESHOLDS = (20_000, 20, 20)


def settle_after_start_up() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
