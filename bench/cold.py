"""Cold init: a fresh interpreter doing what Lambda's init phase does, handler vs floor.

Each sample is one new `python -S` process whose sys.path is the function's sandbox
(bench.layout). Its code starts a timer, imports the handler module with
`importlib.import_module` (as the runtime does), then creates the AWS client(s) the
route cannot do without, and reports both times. Interpreter start-up (and `site`,
which -S skips) happens before the timer, identically for every sample.

The floor is a bare handler module in the same sandbox:

    import boto3
    dynamodb = boto3.client("dynamodb")       # DownloadFunction: also boto3.client("s3")

A real handler creates its clients lazily, on the first request; to compare like with
like, its sample also creates the floor's clients (through boto3) right after the import.
So `handler total / floor total` is "what Lectern's code adds to the minimum any
function using these clients pays", and a handler cannot look cheap by deferring work
to the first request.

The environment is the function's, from template.yaml, inside Lambda: LAMBDA_TASK_ROOT
and AWS_LAMBDA_FUNCTION_NAME are set and tracing is on (the template says
`Tracing: Active`), so Powertools' Tracer and the X-Ray SDK behave as deployed.
Samples are interleaved (floor, each function, floor, ...) so that a noisy neighbour
hits all of them alike; medians are reported.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.layout import FunctionLayout, Layout, link_folder, sandbox_path

# The clients a route cannot do without (the floor creates them at init).
FLOOR_CLIENTS = {"DownloadFunction": ("dynamodb", "s3")}  # ProgressFunction: S3 only when a certificate is made
DEFAULT_CLIENTS = ("dynamodb",)
# Budgets: handler total ≤ factor × floor total.
BUDGETS = {"CatalogFunction": 1.3, "AuthFunction": 1.3, "LearnerFunction": 1.3, "LessonFunction": 1.3,
           "DownloadFunction": 1.3,
           "ProgressFunction": 1.3,
           "CheckoutFunction": 1.6, "StripeWebhookFunction": 1.6}

FLOOR_MODULE = '''"""The floor: a handler that imports boto3 and creates the client(s) it needs."""
import boto3

CLIENTS = [boto3.client(name) for name in {clients!r}]


def lambda_handler(event, context):
    return {{"statusCode": 200}}
'''

# The stack floor: the floor plus what the prescribed stack (Powertools, PynamoDB) loads at init before
# any line of Lectern runs, as Lectern's functions load it (Powertools' Logger without the top package's
# __init__, the HTTP API resolver, PynamoDB; Metrics and the Tracer's X-Ray SDK are built on first use and
# requests are validated without pydantic), built up one piece at a time: each step adds to the ones before
# it, and all of them make the stack floor. Not a budget: it shows how much of a handler's cold init is the
# framework's and how much is Lectern's own code (handler / stack floor).
STACK_STEPS = [
    ("Powertools Logger (as lectern.powertools_imports loads it: without Metrics and Tracer's module)",
     "import lectern.powertools_imports\nfrom aws_lambda_powertools.logging import Logger\nlogger = Logger()"),
    ("+ the event handler (APIGatewayHttpResolver, as lectern.powertools_imports loads it)",
     "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\napp = APIGatewayHttpResolver()"),
    ("+ PynamoDB", "from pynamodb.models import Model"),
]
# Measured on top of the stack floor, for the steps table only: what the functions no longer load at init
# (Metrics is built when a metric is first added, the X-Ray SDK on the first invocation; request validation
# runs compiled code, not pydantic).
BEYOND_STACK_STEPS = [
    ("+ Metrics at init (with the top package's __init__): now built on first use",
     "from aws_lambda_powertools import Metrics\nmetrics = Metrics()"),
    ("+ Tracer at init (X-Ray SDK, patching botocore and http.client): now built on first use",
     "from aws_lambda_powertools import Tracer\ntracer = Tracer(patch_modules=('botocore', 'httplib'))"),
    ("+ Powertools' validation (enable_validation=True: pydantic): now compiled validators",
     "from pydantic import BaseModel\napp = APIGatewayHttpResolver(enable_validation=True)"),
]
ALL_STEPS = STACK_STEPS + BEYOND_STACK_STEPS


def stack_module(steps: int = len(STACK_STEPS)) -> str:
    """A handler module made of the first `steps` steps (of ALL_STEPS), with the floor's client(s) to fill in."""
    body = "\n".join(code for _name, code in ALL_STEPS[:steps])
    return ("import boto3\n" + body + "\nCLIENTS = [boto3.client(name) for name in {clients!r}]\n\n\n"
            "def lambda_handler(event, context):\n    return {{\"statusCode\": 200}}\n")


# Runs in the child, under `python -S -B`: sys.path is set before the clock starts.
CHILD = '''
import sys
sys.path[:0] = {path!r}
import importlib, json, time
if "importtime" in sys._xoptions:
    # (The profile only.) -X importtime lists the imports of `import` statements alone: a module loaded by
    # importlib.import_module (lectern.powertools_imports loads Powertools' resolver so) would have no row
    # and its own time would be booked to the module whose import set it off. Through __import__ it has one.
    _import_module = importlib.import_module
    def _listed(name, package=None):
        if package is None and not name.startswith("."):
            __import__(name)
            return sys.modules[name]
        return _import_module(name, package)
    importlib.import_module = _listed
t0 = time.perf_counter()
module = importlib.import_module({module!r})
t1 = time.perf_counter()
if {create_clients!r}:
    import boto3
    clients = [boto3.client(name) for name in {clients!r}]
t2 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "total": t2 - t0}}))
'''


def prepare(layout: Layout) -> None:
    """Source tree: bring the .pyc of `lectern` and the handlers up to date first (the venv's
    packages have theirs), since the samples run with -B, as on Lambda's read-only file system."""
    if layout.source != "source tree":
        return
    import compileall

    folders = {f.task_dir for f in layout.functions.values()}
    folders |= {(d / "lectern").resolve() for f in layout.functions.values() for d in f.layer_dirs
                if (d / "lectern").exists()}
    for folder in folders:
        compileall.compile_dir(str(folder), quiet=2)


def clients_for(logical_id: str) -> tuple[str, ...]:
    return FLOOR_CLIENTS.get(logical_id, DEFAULT_CLIENTS)


def lambda_environment(function: FunctionLayout, *, tracing: bool = True) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TZ": ":UTC",
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13", "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "LAMBDA_TASK_ROOT": str(function.task_dir), "LAMBDA_RUNTIME_DIR": "/var/runtime",
        **function.environment,
    }
    if not tracing:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def floor_layout(function: FunctionLayout, scratch: Path) -> FunctionLayout:
    clients = clients_for(function.logical_id)
    task = scratch / ("floor-" + "-".join(clients))
    task.mkdir(parents=True, exist_ok=True)
    (task / "floor_app.py").write_text(FLOOR_MODULE.format(clients=list(clients)))
    return FunctionLayout(f"Floor({'+'.join(clients)})", task, [], "floor_app", {})


def stack_layout(function: FunctionLayout, scratch: Path) -> FunctionLayout:
    """The stack floor in the function's own layers (CoreLayer has all it imports)."""
    clients = clients_for(function.logical_id)
    task = scratch / ("stack-" + "-".join(clients))
    task.mkdir(parents=True, exist_ok=True)
    (task / "stack_app.py").write_text(stack_module().format(clients=list(clients)))
    return FunctionLayout(f"Stack({'+'.join(clients)})", task, function.layer_dirs, "stack_app", {})


def sample(function: FunctionLayout, runtime: Path, *, clients: tuple[str, ...], create_clients: bool,
           python: str = sys.executable, env: dict[str, str] | None = None, extra_args: tuple[str, ...] = (),
           cwd: Path | None = None) -> dict | str:
    code = CHILD.format(path=sandbox_path(function, runtime), module=function.module,
                        create_clients=create_clients, clients=list(clients))
    result = subprocess.run([python, "-S", "-B", *extra_args, "-c", code], env=env or lambda_environment(function),
                            capture_output=True, text=True, timeout=120, cwd=cwd or tempfile.gettempdir())
    if result.returncode != 0:
        raise RuntimeError(f"{function.logical_id} failed to import:\n{result.stderr[-3000:]}")
    if extra_args:
        return result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass
class ColdResult:
    logical_id: str
    import_ms: float
    total_ms: float
    floor_ms: float
    ratio: float                    # median of the per-round ratios (each handler sample / the floor sample run just before it)
    runs: int
    stack_ms: float                 # the stack floor (all STACK_STEPS), import + clients
    stack_ratio: float              # stack floor / floor, per round, median
    over_stack: float               # handler / stack floor, per round, median

    @property
    def budget(self) -> float | None:
        return BUDGETS.get(self.logical_id)

    @property
    def met(self) -> bool | None:
        return None if self.budget is None else self.ratio <= self.budget


def measure(layout: Layout, runs: int = 15, *, only: list[str] | None = None, tracing: bool = True,
            progress=lambda text: None) -> dict[str, ColdResult]:
    scratch = Path(tempfile.mkdtemp(prefix="lectern-cold-"))
    try:
        prepare(layout)
        functions = [f for name, f in sorted(layout.functions.items()) if not only or name in only]
        floors = {clients_for(f.logical_id): floor_layout(f, scratch) for f in functions}
        stacks = {f.logical_id: stack_layout(f, scratch) for f in functions}
        samples: dict[str, list[dict]] = {f.logical_id: [] for f in functions}
        paired: dict[str, list[dict]] = {f.logical_id: [] for f in functions}
        paired_stack: dict[str, list[dict]] = {f.logical_id: [] for f in functions}
        floor_samples: dict[tuple, list[dict]] = {key: [] for key in floors}
        # One discarded round first: fills the page cache and writes any missing .pyc of the source tree.
        for round_ in range(runs + 1):
            progress(f"cold init: round {round_}/{runs}")
            for function in functions:
                key = clients_for(function.logical_id)
                env = lambda_environment(function, tracing=tracing)
                floor = sample(floors[key], layout.runtime_dir, clients=key, create_clients=False, env=env)
                stack = sample(stacks[function.logical_id], layout.runtime_dir, clients=key, create_clients=False,
                               env=env)
                handler = sample(function, layout.runtime_dir, clients=key, create_clients=True, env=env)
                if round_:
                    floor_samples[key].append(floor)
                    paired[function.logical_id].append(floor)
                    paired_stack[function.logical_id].append(stack)
                    samples[function.logical_id].append(handler)
        results = {}
        for function in functions:
            key = clients_for(function.logical_id)
            mine, floors_, stacks_ = samples[function.logical_id], paired[function.logical_id], \
                paired_stack[function.logical_id]
            results[function.logical_id] = ColdResult(
                function.logical_id,
                import_ms=statistics.median(s["import"] for s in mine) * 1000,
                total_ms=statistics.median(s["total"] for s in mine) * 1000,
                floor_ms=statistics.median(s["total"] for s in floor_samples[key]) * 1000,
                ratio=statistics.median(h["total"] / f["total"] for h, f in zip(mine, floors_)),
                runs=runs,
                stack_ms=statistics.median(s["total"] for s in stacks_) * 1000,
                stack_ratio=statistics.median(s["total"] / f["total"] for s, f in zip(stacks_, floors_)),
                over_stack=statistics.median(h["total"] / s["total"] for h, s in zip(mine, stacks_)))
        return results
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ------------------------------------------------------------------ -X importtime profile

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _importtime(text: str) -> list[tuple[str, int, int, int]]:
    """(module, self µs, cumulative µs, depth) per line of `-X importtime`."""
    rows = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            rows.append((match.group(4), int(match.group(1)), int(match.group(2)), len(match.group(3)) // 2))
    return rows


def _group(module: str) -> str:
    parts = module.split(".")
    depth = 3 if parts[0] == "aws_lambda_powertools" else 2 if parts[0] in ("lectern", "aws_xray_sdk", "pydantic") else 1
    return ".".join(parts[:depth])


def stack_steps(layout: Layout, logical_id: str, runs: int, *, progress=lambda text: None) -> list[tuple[str, float]]:
    """(step, median ratio to the floor) for each cumulative step of ALL_STEPS, in one
    function's sandbox, interleaved with the floor like `measure`."""
    function = layout.functions[logical_id]
    scratch = Path(tempfile.mkdtemp(prefix="lectern-steps-"))
    try:
        key = clients_for(logical_id)
        env = lambda_environment(function)
        floor = floor_layout(function, scratch)
        steps = []
        # The layers ship no pydantic any more: the step that measures it takes it from the dev venv.
        pydantic = link_folder({"pydantic", "pydantic-core", "annotated-types", "typing-inspection"},
                               scratch / "pydantic")
        for index in range(len(ALL_STEPS)):
            task = scratch / f"step{index}"
            task.mkdir()
            (task / "step_app.py").write_text(stack_module(index + 1).format(clients=list(key)))
            layers = function.layer_dirs + ([pydantic] if index >= len(STACK_STEPS) else [])
            steps.append(FunctionLayout(ALL_STEPS[index][0], task, layers, "step_app", {}))
        ratios: list[list[float]] = [[] for _ in steps]
        for round_ in range(runs + 1):
            progress(f"cold init: stack steps, round {round_}/{runs}")
            base = sample(floor, layout.runtime_dir, clients=key, create_clients=False, env=env)["total"]
            for index, step in enumerate(steps):
                total = sample(step, layout.runtime_dir, clients=key, create_clients=False, env=env)["total"]
                if round_:
                    ratios[index].append(total / base)
        return [(name, statistics.median(values)) for (name, _code), values in zip(ALL_STEPS, ratios)]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def profile(layout: Layout, logical_id: str, *, top: int = 12, tracing: bool = True,
            baseline: str = "floor") -> list[tuple[str, float]]:
    """Where the handler's import time goes beyond the baseline's (the floor, or the stack floor):
    self time of the modules the baseline does not import, summed per package (ms), largest first."""
    function = layout.functions[logical_id]
    scratch = Path(tempfile.mkdtemp(prefix="lectern-profile-"))
    try:
        key = clients_for(logical_id)
        env = lambda_environment(function, tracing=tracing)
        reference = {"floor": floor_layout, "stack": stack_layout}[baseline](function, scratch)
        baseline_rows = _importtime(sample(reference, layout.runtime_dir, clients=key, create_clients=False,
                                           env=env, extra_args=("-X", "importtime")))
        rows = _importtime(sample(function, layout.runtime_dir, clients=key, create_clients=True, env=env,
                                  extra_args=("-X", "importtime")))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    baseline_modules = {row[0] for row in baseline_rows}
    grouped: Counter = Counter()
    for module, self_us, _cumulative, _depth in rows:
        if module not in baseline_modules:
            grouped[_group(module)] += self_us
    return [(name, us / 1000) for name, us in grouped.most_common(top)]


def deployed_copy(layout: Layout, scratch: Path, *, compiled: bool) -> Layout:
    """A scratch copy of the built artifacts as Lambda would unpack them, with today's code.

    - The layers as built, with their bytecode (the layer build compiles it, unchecked-hash);
      `lectern` and the handlers are copied from the working tree over the built ones (the
      build copies them verbatim), so code changes are measured without rebuilding the
      layers, and `lectern` is compiled as the layer build would.
    - The function folder without __pycache__: SAM builds none (a smoke run may have left
      some behind) and /var/task is read-only on Lambda, so every cold start compiles the
      handler module. `compiled=True` compiles it too: everything as bytecode.
    """
    import compileall
    import py_compile

    repo = Path(__file__).resolve().parents[1]
    mapping: dict[Path, Path] = {}

    def compile_tree(folder: Path) -> None:
        compileall.compile_dir(str(folder), quiet=2, workers=1,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)

    def copy(folder: Path, *, task_source: Path | None = None) -> Path:
        if folder not in mapping:
            target = scratch / ("compiled" if compiled else "deployed") / str(len(mapping)) / folder.name
            is_task = task_source is not None
            shutil.copytree(folder, target, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc") if is_task else None)
            if (target / "lectern").is_dir():
                shutil.rmtree(target / "lectern")
                shutil.copytree(repo / "layers" / "common" / "lectern", target / "lectern",
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                compile_tree(target / "lectern")
            if is_task:
                for source in task_source.glob("*.py"):
                    shutil.copy2(source, target / source.name)
            if compiled:
                compile_tree(target)
            mapping[folder] = target
        return mapping[folder]

    from lectern_dev import template as tpl

    specs = tpl.functions()
    functions = {
        name: FunctionLayout(f.logical_id, copy(f.task_dir, task_source=specs[name].code_dir if name in specs else None),
                             [copy(d) for d in f.layer_dirs], f.module, f.environment)
        for name, f in layout.functions.items()}
    label = "all compiled (unchecked-hash)" if compiled else "as deployed (layers with bytecode)"
    return Layout(f"{layout.source}, {label}", layout.runtime_dir, functions)
