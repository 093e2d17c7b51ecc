"""SnapStart, measured locally: what a restore leaves the first request to do.

For each API function, a fresh interpreter with the function's environment (its template
variables; its secrets by ARN, read from the embedded AWS's Secrets Manager as deployed)
imports the handler (init) and runs the before-snapshot hooks (prime), then forks: each
child stands for an environment restored from the snapshot (lectern_dev.snapshots). It runs
the after-restore hooks, answers its first request (timed) and then more of the same
(warm); the figure is first / warm (the median of its last requests), per copy, median
over the copies. The same again without the before-snapshot hooks (fork right after the
import) shows what priming buys: that is what SnapStart would restore without them.

AWS is moto's server on loopback and Stripe the local emulator, as in bench/warm.py, whose
fixture (a registered learner who bought the demo course) this reuses. What this cannot
show: the restore itself (Lambda loading the snapshot's pages, billed as Restore Duration),
the page faults a restored copy takes on first touching its memory, and real TLS
handshakes (moto speaks plain HTTP on loopback). See docs/performance.md, "SnapStart".
"""
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = 1.2  # first request after a restore ≤ 1.2 × a warm request
COPIES = 7  # restored copies per function (and mode)
CALLS = 12  # requests per copy: the first, then warm ones
WARM_FROM = 4  # warm = median of requests WARM_FROM.. (the first few still settle)


@dataclass
class RestoreResult:
    function: str
    route: str
    init_ms: float
    prime_ms: float
    renew_ms: float
    first_ms: float
    warm_ms: float
    ratio: float            # median over copies of (first / that copy's warm median)
    late_first_ms: float    # restored after the secrets' age: they are read again
    late_ratio: float
    floor_first_ms: float   # first request of a copy of an environment that had served requests
    first_faults: int       # minor page faults of the first request after a restore (pages copied on write)
    warm_faults: int
    floor_first_faults: int
    unprimed_first_ms: float
    unprimed_ratio: float
    copies: int

    @property
    def met(self) -> bool:
        return self.ratio <= GOAL

    @property
    def over_floor(self) -> float:
        """First request after a restore / the stand-in's floor (what any copy's first request pays)."""
        return self.first_ms / self.floor_first_ms


def plans(env, fx) -> list[dict]:
    """One route per API function, the one its users wait on, as repeatable requests."""
    from bench.warm import COURSE, OTHER_COURSE

    def plan(route: str, method: str, path: str, expect: int = 200, **kwargs) -> dict:
        extra = {key: kwargs.pop(key) for key in ("unique_email", "chain") if key in kwargs}
        function, event = env.event(method, path, **kwargs)
        return {"route": route, "function": function, "event": event, "expect": expect, **extra}

    token = fx.access_token
    return [
        plan("GET /courses", "GET", "/courses"),
        plan("GET /learn/{slug}/lessons/{lesson}", "GET", f"/learn/{COURSE}/lessons/{fx.lesson_slug}", token=token),
        plan("GET /resources/{id}/download", "GET", f"/resources/{fx.resource_id}/download", token=token, expect=302),
        plan("POST /checkout (guest)", "POST", "/checkout", expect=201, unique_email=True,
             body={"course_slug": OTHER_COURSE, "email": "restore@example.com"}),
        plan("POST /auth/refresh", "POST", "/auth/refresh", chain="refresh_token",
             body={"refresh_token": "<a fresh one per copy>"}),
    ]


def refresh_tokens(fx, count: int) -> list[str]:
    """One fresh session per restored copy (a refresh token works once; each copy then chains its own)."""
    from bench.warm import PASSWORD
    from lectern.accounts import service

    return [service.login(fx.email, PASSWORD).refresh_token for _ in range(count)]


def function_environment(logical_id: str, secret_arns: dict[str, str]) -> dict[str, str]:
    """The function's environment as the local stack gives a worker (secrets by ARN only), plus
    devtools for lectern_dev.snapshots (imported after the handler)."""
    from lectern_dev import template as tpl
    from lectern_dev.worker_pool import function_environment as worker_environment

    specs = tpl.functions(overrides=secret_arns)
    env = worker_environment(specs[logical_id], specs)
    env["PYTHONPATH"] += os.pathsep + str(REPO / "devtools")
    return env


def sample(plan: dict, env: dict[str, str], *, prime: bool, modes: list[str], copies: int, calls: int,
           tokens: list[str] | None = None, floor: bool = False) -> dict:
    from lectern_dev import template as tpl

    spec = tpl.functions()[plan["function"]]
    request = {**plan, "handler": f"{spec.module}.{spec.handler}", "prime": prime, "modes": modes, "floor": floor, "copies": copies,
               "calls": calls, "tokens": tokens or []}
    result = subprocess.run([sys.executable, "-m", "lectern_dev.snapshots"], input=json.dumps(request),
                            capture_output=True, text=True, env=env, cwd=spec.code_dir, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{plan['function']}: the restore sample failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _first_and_warm(copy: dict, measure: str = "timings") -> tuple[float, float]:
    values = copy[measure]
    return values[0], statistics.median(values[WARM_FROM:])


def run(copies: int = COPIES, calls: int = CALLS, progress=lambda text: None) -> list[RestoreResult]:
    from bench.warm import Environment, prepare
    from lectern_dev import aws_resources
    from lectern_dev.dev_keys import secret_values

    env = Environment()
    try:
        progress("restore: preparing data (register, buy)")
        fx = prepare(env)
        secret_arns = aws_resources.put_secrets(secret_values())
        results = []
        for plan in plans(env, fx):
            function_env = function_environment(plan["function"], secret_arns)
            outcome = {}
            for primed, modes in ((True, ["soon", "late"]), (False, ["soon"])):
                progress(f"restore: {plan['function']} ({'primed' if primed else 'not primed'}), "
                         f"{copies * len(modes)} restored copies × {calls} requests")
                needed = copies * len(modes) + (copies + 1 if primed else 0)
                tokens = refresh_tokens(fx, needed) if plan.get("chain") else None
                outcome[primed] = sample(plan, function_env, prime=primed, modes=modes, copies=copies, calls=calls,
                                         tokens=tokens, floor=primed)
            primed, unprimed = outcome[True], outcome[False]
            pairs = [_first_and_warm(copy) for copy in primed["copies"] if copy["mode"] == "soon"]
            late_pairs = [_first_and_warm(copy) for copy in primed["copies"] if copy["mode"] == "late"]
            floor_pairs = [_first_and_warm(copy) for copy in primed["copies"] if copy["mode"] == "floor"]
            unprimed_pairs = [_first_and_warm(copy) for copy in unprimed["copies"]]
            faults = [_first_and_warm(copy, "faults") for copy in primed["copies"] if copy["mode"] == "soon"]
            floor_faults = [_first_and_warm(copy, "faults") for copy in primed["copies"] if copy["mode"] == "floor"]
            results.append(RestoreResult(
                plan["function"], plan["route"], init_ms=primed["init"] * 1000, prime_ms=primed["prime"] * 1000,
                renew_ms=statistics.median(copy["renew"] for copy in primed["copies"] if copy["mode"] == "soon") * 1000,
                first_ms=statistics.median(first for first, _warm in pairs) * 1000,
                warm_ms=statistics.median(warm for _first, warm in pairs) * 1000,
                ratio=statistics.median(first / warm for first, warm in pairs),
                late_first_ms=statistics.median(first for first, _warm in late_pairs) * 1000,
                late_ratio=statistics.median(first / warm for first, warm in late_pairs),
                floor_first_ms=statistics.median(first for first, _warm in floor_pairs) * 1000,
                first_faults=round(statistics.median(first for first, _warm in faults)),
                warm_faults=round(statistics.median(warm for _first, warm in faults)),
                floor_first_faults=round(statistics.median(first for first, _warm in floor_faults)),
                unprimed_first_ms=statistics.median(first for first, _warm in unprimed_pairs) * 1000,
                unprimed_ratio=statistics.median(first / warm for first, warm in unprimed_pairs),
                copies=copies))
        return results
    finally:
        env.stop()
