"""`make bench`: cold init, warm latency, DynamoDB requests per route and deployed size,
printed as tables and written into docs/performance.md (between its `bench` markers), and
what a SnapStart restore leaves the first request to do (between its `restore` markers).
`make bench-burst` (`--burst 1000`): the webhook burst against a fresh local stack, into the
`burst` markers. See bench/README.md.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for entry in (REPO / "devtools", REPO / "layers" / "common", REPO):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

DOC = REPO / "docs" / "performance.md"
FUNCTIONS = ["CatalogFunction", "LearnerFunction", "LessonFunction", "DownloadFunction", "ProgressFunction",
             "CheckoutFunction",
             "StripeWebhookFunction",
             "AuthFunction"]


_T0 = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s] {text}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ machine

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")).split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration):
        pass
    load = ", load average %.1f at start" % os.getloadavg()[0] if hasattr(os, "getloadavg") else ""
    return (f"{platform.system()} {platform.release()} {platform.machine()}, {cpu}, {os.cpu_count()} CPUs{memory}"
            f"{load}; Python {platform.python_version()}")


# ------------------------------------------------------------------ tables

def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def yes_no(met: bool | None) -> str:
    return "–" if met is None else ("met" if met else "**not met**")


def cold_section(layouts: list[tuple[str, dict]], profiles: dict[str, tuple[list, list]], runs: int,
                 notes: list[str], steps: list[tuple[str, float]] = ()) -> str:
    from bench.cold import BUDGETS, clients_for

    out = [f"### Cold init (median of {runs} fresh processes each, interleaved with the floor)", ""]
    out += [f"- {note}" for note in notes]
    if notes:
        out.append("")
    headers = ["function", "floor clients", "budget"]
    for label, _results in layouts:
        headers += [f"{label}: import ms", "import + clients ms", "floor ms", "ratio",
                    "stack floor ms (× floor)", "handler / stack floor"]
    headers.append("budget met?")
    rows = []
    for logical_id in FUNCTIONS:
        if not all(logical_id in results for _label, results in layouts):
            continue
        budget = BUDGETS.get(logical_id)
        row = [logical_id, "+".join(clients_for(logical_id)), f"≤ {budget:.1f}×" if budget else "–"]
        verdicts = []
        for _label, results in layouts:
            r = results[logical_id]
            row += [f"{r.import_ms:.0f}", f"{r.total_ms:.0f}", f"{r.floor_ms:.0f}", f"**{r.ratio:.2f}×**",
                    f"{r.stack_ms:.0f} ({r.stack_ratio:.2f}×)", f"{r.over_stack:.2f}×"]
            verdicts.append(r.met)
        row.append(" / ".join(yes_no(v) for v in verdicts))
        rows.append(row)
    out.append(table(headers, rows))
    out += ["", "The *stack floor* is the floor plus what the prescribed stack loads at init before any Lectern "
                "code, as the functions load it (bench/cold.py `STACK_STEPS`: Powertools' Logger, the HTTP "
                "API resolver, PynamoDB): *handler / stack floor* is what Lectern's own modules add."]
    if steps:
        out += ["", "The stack floor built up one piece at a time, in CatalogFunction's sandbox (each step adds to "
                    "the ones above it; median ratio to the floor, same rounds; the last three rows are what the "
                    "functions no longer load at init, measured on top for comparison):", "",
                table(["step", "× floor"], [[name, f"{ratio:.2f}×"] for name, ratio in steps])]
    if profiles:
        out += ["", "Where the time goes (`python -X importtime`, self time of the modules the baseline does not "
                    "import, summed per package, one run), beyond the floor → beyond the stack floor:", ""]
        for logical_id, (beyond_floor, beyond_stack) in profiles.items():
            out.append(f"- **{logical_id}**: " + ", ".join(f"{name} {ms:.0f} ms" for name, ms in beyond_floor)
                       + " → **beyond the stack**: " + ", ".join(f"{name} {ms:.0f} ms" for name, ms in beyond_stack))
    return "\n".join(out)


def warm_section(results) -> str:
    out = ["### Warm latency and DynamoDB requests per route", "",
           "In-process against moto's server on loopback; the floor is the same route's unavoidable calls made with "
           "plain boto3 (and the Stripe SDK, argon2, the presigner, RS256 where the route needs them). "
           "Medians; p90 of the route in brackets. Floors for requests compose the access patterns (#) of "
           "docs/data-model.md.", ""]
    rows = []
    for r in results:
        ops = ", ".join(f"{op} {count}" for op, count in sorted(r.by_operation.items()))
        rows.append([r.name, r.function, str(r.calls), f"{r.median_ms:.1f} ({r.p90_ms:.1f})", f"{r.floor_ms:.1f}",
                     f"**{r.ratio:.2f}×**", f"{r.requests} ({ops})", f"{r.floor_requests}: {r.floor_note}",
                     yes_no(r.requests_met)])
    out.append(table(["route", "function", "calls", "route ms", "floor ms", "ratio", "DynamoDB requests",
                      "floor", "requests = floor?"], rows))
    return "\n".join(out)


def size_section(source: str, results) -> str:
    from bench.sizes import BUDGET_BYTES

    if not results:
        return ("### Deployed size\n\nNo build of the current template's layers was found (`make build` or "
                "`make smoke` first).")
    rows = [[r.logical_id, f"{r.function_bytes / 1e3:.1f} kB",
             " + ".join(f"{name} {size / 1e6:.1f} MB" for name, size in r.layers),
             f"**{r.total / 1e6:.1f} MB**", yes_no(r.met)] for r in results]
    return "\n".join([f"### Deployed size (unzipped, `du -sb`, from `{source}`; budget {BUDGET_BYTES / 1e6:.0f} MB)", "",
                      table(["function", "function folder", "layers", "total", "≤ 40 MB?"], rows)])


def restore_section(results) -> str:
    from bench.restore import CALLS, GOAL, WARM_FROM

    copies = results[0].copies if results else 0
    rows = [[r.function, r.route, f"{r.init_ms:.0f}", f"{r.prime_ms:.0f}", f"{r.renew_ms:.1f}",
             f"{r.first_ms:.1f}", f"{r.warm_ms:.1f}", f"**{r.ratio:.2f}×**", f"{r.floor_first_ms:.1f} ({r.over_floor:.2f}×)",
             f"{r.first_faults}, {r.warm_faults} ({r.floor_first_faults})",
             f"{r.late_first_ms:.1f} ({r.late_ratio:.2f}×)", f"{r.unprimed_first_ms:.0f} ({r.unprimed_ratio:.1f}×)",
             yes_no(r.met)] for r in results]
    return "\n".join([
        f"### SnapStart restore (forks of a primed environment; medians of {copies} restored copies per function)", "",
        f"Each restored copy runs the after-restore hook (*renew*), then its first request and {CALLS - 1} more; *warm* "
        f"is the median of its requests {WARM_FROM + 1}–{CALLS}, *first / warm* the median of the copies' ratios. "
        "*Floor*: the first request of copies of an environment that had already served requests (nothing lazy left): "
        "what any copy's first request pays here (the fork's copy-on-write memory, new connections). *Page faults*: "
        "the minor page faults of the first request and of a warm one (the floor's first in brackets), medians: in a "
        "forked copy, mostly pages of the snapshot's memory copied as the request first writes them. *Late*: copies "
        "restored after the secrets' five minutes, which read them again. *Not primed*: the same fork right after the "
        "import, without the before-snapshot hook.", "",
        table(["function", "route", "init ms", "prime ms", "renew ms", "first ms", "warm ms", "first / warm",
               "floor ms (first / floor)", "page faults: first, warm (floor)", "late: first ms (/ warm)",
               "not primed: first ms (/ warm)",
               f"≤ {GOAL}×?"], rows)])


def replace_section(text: str, marker: str, body: str) -> str:
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    if begin in text and end in text:
        return text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    return text.rstrip() + "\n\n" + block + "\n"


# ------------------------------------------------------------------ the parts

def run_cold(runs: int, only: list[str] | None) -> tuple[str, list[str]]:
    from bench import cold, layout

    scratch = Path(tempfile.mkdtemp(prefix="lectern-bench-"))
    try:
        found = layout.discover(scratch / "links")
        notes = [f"Sandbox: {found.source}." + (f" ({found.note})" if found.note else "")]
        layouts = []
        if found.source == "source tree":
            layouts.append(("source tree", found))
            notes.append("No build for this machine's architecture: the functions and `lectern` come from the "
                         "working tree, their dependencies from the dev venv restricted to each layer's "
                         "requirements (with .pyc, like a build that ships bytecode).")
        else:
            notes.append("As deployed: the built layers with the bytecode their build compiles, the working tree's "
                         "`lectern` (compiled likewise) and handlers copied over the built ones; the function folder "
                         "without bytecode (SAM compiles none, and /var/task is read-only, so each cold start "
                         "compiles the handler module).")
            layouts.append(("as deployed", cold.deployed_copy(found, scratch / "deployed", compiled=False)))
        results = []
        for label, lay in layouts:
            say(f"cold init: {label} ({runs} runs)")
            try:
                results.append((label, cold.measure(lay, runs, only=only, progress=say)))
            except RuntimeError as exc:  # a half-made build: say so, measure the source tree instead
                notes.append(f"{label}: could not import from the build ({str(exc).splitlines()[0]}); "
                             "measured the source tree instead")
                source = layout.discover(scratch / "source-links", use_build=False)
                results.append(("source tree", cold.measure(source, runs, only=only, progress=say)))
                layouts = [("source tree", source)]
                break
        best_label, best = results[-1]
        over = [name for name, r in best.items() if r.met is False]
        profiles = {}
        for name in over:
            say(f"cold init: -X importtime profile of {name}")
            profiles[name] = (cold.profile(dict(layouts)[best_label], name, top=10),
                              cold.profile(dict(layouts)[best_label], name, top=8, baseline="stack"))
        steps = []
        if over and (only is None or "CatalogFunction" in only):
            steps = cold.stack_steps(dict(layouts)[best_label], "CatalogFunction", runs, progress=say)
        notes.append("Lambda-like environment: the function's template variables, LAMBDA_TASK_ROOT and "
                     "AWS_LAMBDA_FUNCTION_NAME set, tracing on (`Tracing: Active`); `python -S -B`, the clock "
                     "starts after interpreter start-up.")
        section = cold_section(results, profiles, runs, notes, steps)
        print(section)
        return section, over
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_warm(scale: float) -> str:
    from bench import warm

    results = warm.run(scale=scale, progress=say)
    section = warm_section(results)
    print(section)
    return section


def run_sizes() -> str:
    from bench import sizes

    source, results = sizes.measure()
    section = size_section(source, results)
    print(section)
    return section


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds_by_role(root_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the local stack's processes, by role: the stack itself (HTTP front
    doors, Stripe emulator), the embedded AWS, and each function's environments (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        pid, ppid = int(entry.name), int(stat[1])
        if pid != root_pid and ppid != root_pid:
            continue
        words = [w.decode(errors="replace") for w in cmdline if w]
        if pid == root_pid:
            role = "stack (front doors, Stripe emulator)"
        elif any(w.endswith("embedded_aws.py") for w in words):
            role = "embedded AWS (moto)"
        elif any(w.endswith("lambda_worker.py") for w in words):
            role = f"{words[-1]} environments"
        else:
            role = "other"
        used[role] = used.get(role, 0.0) + (int(stat[11]) + int(stat[12])) / tick
    return used


def run_restore() -> str:
    from bench import restore

    section = restore_section(restore.run(progress=say))
    print(section)
    return section


def run_burst(n: int, threads: int) -> str:
    """A fresh local stack (`python -m lectern_dev.stack`) on free ports, then the burst."""
    from bench.burst import Stack, run_burst as burst

    secret = "whsec_bench_burst_" + os.urandom(8).hex()
    scratch = Path(tempfile.mkdtemp(prefix="lectern-burst-"))
    info = scratch / "stack.json"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "STRIPE_", "LECTERN_", "POWERTOOLS_")) or k == "LECTERN_WORKERS"}
    env.update({"PYTHONPATH": "layers/common:devtools", "STRIPE_WEBHOOK_SECRET": secret,
                "CHECKOUT_LIMIT_PER_IP": "0",  # every checkout of the burst comes from 127.0.0.1
                **{name: str(free_port()) for name in ("LECTERN_API_PORT", "LECTERN_WEBHOOK_PORT", "LECTERN_DEV_PORT",
                                                       "LECTERN_STRIPE_PORT", "LECTERN_AWS_PORT", "LECTERN_WEB_PORT")}})
    log = (scratch / "stack.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "lectern_dev.stack", "--info-file", str(info)], cwd=REPO,
                               env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not (info.exists() and info.read_text()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the local stack did not start:\n" + (scratch / "stack.log").read_text()[-3000:])
            time.sleep(0.1)
        cpu_before = cpu_seconds_by_role(process.pid)
        marks: dict[str, dict[str, float]] = {}
        load = os.getloadavg()

        def phase(name: str) -> None:
            marks[name] = cpu_seconds_by_role(process.pid)
            if name == "effects":
                marks["load"] = {"burst": os.getloadavg()[0]}

        report = burst(Stack(json.loads(info.read_text()), secret), n, threads=threads, progress=say, phase=phase)
        cpu_after = cpu_seconds_by_role(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    def burst_cpu(role: str) -> float:
        start, end = marks.get("burst", cpu_before), marks.get("effects", cpu_after)
        return end.get(role, 0.0) - start.get(role, 0.0)

    verdict = "exactly-once effects, nothing lost" if report.ok else \
        "**problems**: " + "; ".join(report.problems[:10])
    section = "\n".join([
        f"### Webhook burst (`make bench-burst`: N = {n}, {threads} sender threads, a fresh local stack)", "",
        table(["N", "orders / refunds / ignored / duplicates", "seconds", "deliveries/s", "p50 ms", "p99 ms",
               "first answer 500 (retried)", "re-sent after the burst", "result"],
              [[str(n), f"{report.orders} / {report.refunds} / {report.ignored} / {report.duplicates}",
                f"{report.seconds:.1f}", f"{report.throughput:.1f}", f"{report.percentile(0.5):.0f}",
                f"{report.percentile(0.99):.0f}", str(report.retried),
                f"{report.late} (drained in {report.drain_seconds:.0f} s)", verdict]]),
        "", f"Setup (checkouts, payments, refunds) took {report.setup_seconds:.1f} s; "
            f"answers: {dict(report.statuses)}; slowest delivery {max(report.latencies) * 1000:.0f} ms.", "",
        "Where the CPU went (processes of the local stack, from /proc: CPU time, which the machine's "
        "other load does not inflate): the webhook's own work (verify, record, apply: its "
        "environments) apart from the local AWS's share. *Burst* is the deliveries and their "
        "re-sends alone (the emulator's own deliveries of the same events land there too), per "
        f"delivery sent (N) and per attempt ({report.attempts}); *setup and burst* also counts the "
        "checkouts, payments and refunds. Load average (1 min) "
        f"{load[0]:.1f} at the start, {marks.get('load', {}).get('burst', 0.0):.1f} after the burst.", "",
        table(["process", "burst CPU s", "burst CPU ms per delivery", "burst CPU ms per attempt",
               "setup and burst CPU s", "setup and burst CPU ms per attempt"],
              [[role, f"{burst_cpu(role):.1f}", f"{burst_cpu(role) * 1000 / max(1, report.n):.1f}",
                f"{burst_cpu(role) * 1000 / max(1, report.attempts):.1f}",
                f"{cpu_after[role] - cpu_before.get(role, 0.0):.1f}",
                f"{(cpu_after[role] - cpu_before.get(role, 0.0)) * 1000 / max(1, report.attempts):.1f}"]
               for role in sorted(cpu_after, key=lambda r: cpu_before.get(r, 0.0) - cpu_after[r])
               if cpu_after[role] - cpu_before.get(role, 0.0) >= 0.05]
              + [["all of the stack", f"{sum(map(burst_cpu, cpu_after)):.1f}",
                  f"{sum(map(burst_cpu, cpu_after)) * 1000 / max(1, report.n):.1f}",
                  f"{sum(map(burst_cpu, cpu_after)) * 1000 / max(1, report.attempts):.1f}",
                  f"{sum(cpu_after.values()) - sum(cpu_before.values()):.1f}",
                  f"{(sum(cpu_after.values()) - sum(cpu_before.values())) * 1000 / max(1, report.attempts):.1f}"]])])
    print(section)
    if not report.ok:
        say("\n".join(report.problems))
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="cold-init samples per function (default 15)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the warm call counts (default 1)")
    parser.add_argument("--only", default="cold,warm,size,restore",
                        help="parts to run: cold,warm,size,restore (default all)")
    parser.add_argument("--functions", help="cold init of these functions only (comma-separated logical ids)")
    parser.add_argument("--burst", type=int, metavar="N", help="run the webhook burst with N deliveries instead")
    parser.add_argument("--threads", type=int, default=16, help="burst sender threads (default 16)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    args = parser.parse_args(argv)

    started = time.monotonic()
    command = " ".join(["python -m bench.run", *(sys.argv[1:] if argv is None else argv)])
    header = (f"Command: `make {'bench-burst' if args.burst else 'bench'}` (`{command}`), "
              f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.")
    if args.burst:
        sections = {"burst": header + "\n\n" + run_burst(args.burst, args.threads)}
    else:
        parts = set(args.only.split(","))
        bodies = [header, ""]
        if "cold" in parts:
            cold_text, _over = run_cold(args.runs, args.functions.split(",") if args.functions else None)
            bodies += [cold_text, ""]
        if "warm" in parts:
            bodies += [run_warm(args.scale), ""]
        if "size" in parts:
            bodies += [run_sizes(), ""]
        sections = {"bench": "\n".join(bodies)} if parts & {"cold", "warm", "size"} else {}
        if "restore" in parts:
            sections["restore"] = header + "\n\n" + run_restore()
    if not args.no_write:
        text = DOC.read_text() if DOC.exists() else "# Performance\n"
        for marker, body in sections.items():
            text = replace_section(text, marker, body)
        DOC.write_text(text)
        say(f"wrote {DOC.relative_to(REPO)}")
    say(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
