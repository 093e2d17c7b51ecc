"""`make smoke`: invoke every function from the *built* artifacts, the way Lambda would.

The unit and end-to-end tests import `lectern` from layers/common with the dev
venv on the path, so they cannot see a packaging mistake: a dependency missing
from a layer's requirements, a module left out of the build, a function that
lacks a layer it imports from. This check can. For each function of
template.yaml it starts a fresh interpreter (`python -I -S`: no site-packages,
no PYTHONPATH) whose sys.path is what Lambda's would be:

    <built function folder>              (/var/task)
    <each built layer's python/ folder>  (/opt/python)
    the standard library
    .aws-sam/lambda-runtime              (what the python3.13 runtime ships: boto3, botocore, ...)

imports the handler (an import error fails the smoke), then invokes it with
every `events/<function folder>*.json` sample, against an embedded AWS (moto
server on loopback: the template's tables, bucket and SES sender, the demo
catalog) and the Stripe emulator. Any answer >= 500, a Lambda error payload,
a non-HTTP answer, a crash or a timeout fails it.

The samples are used as written, except where a placeholder stands for a value
an earlier answer gives: `<access_token ...>` and `<refresh_token>` come from
AuthFunction's register and login answers, the sample checkout session id is
replaced by the one CheckoutFunction just created (which the emulator then
marks paid), and the webhook sample is signed afresh (as
`python -m lectern_admin events sign` does). So the chain register → login →
learner/downloads → checkout → webhook fulfillment runs in the built code.

It also keeps the packaging budgets of docs/performance.md: function + layers at
most 40 MB unzipped, no boto3/botocore (or their runtime-shipped dependencies) in
a layer, and every module of every layer shipped with its bytecode
(unchecked-hash .pyc for this Python: /opt is read-only on Lambda, so a module
without it is compiled at every cold start).

Architecture: the deployed build is arm64, and its compiled wheels (pydantic_core,
cryptography, cffi, argon2) do not load on an x86_64 machine. On such a machine
the smoke builds a host-architecture variant of the template (a copy with arm64
replaced by the host's, into .aws-sam/smoke-build) and invokes that; on an
aarch64 machine it uses the real build (.aws-sam/build). See docs/testing.md.

    python -m lectern_dev.smoke [--no-build] [--build-dir DIR] [--keep-logs]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import select
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lectern_dev import template as tpl

ROOT = tpl.REPO_ROOT
EVENTS_DIR = ROOT / "events"
AWS_SAM = ROOT / ".aws-sam"
RUNTIME_DIR = AWS_SAM / "lambda-runtime"
# What the Lambda python3.13 runtime ships next to the interpreter, pinned with hashes (from
# lambda-runtime.txt, by scripts/lock-layers). Installed once to stand in for it; the layers must
# not carry these.
RUNTIME_LOCK = Path(__file__).with_name("lambda-runtime.lock")
SAMPLE_SESSION_ID = "cs_test_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5"
INVOKE_TIMEOUT = 60.0
# Lambda's names for the machine: the template says arm64 / x86_64, uname says aarch64 / x86_64.
LAMBDA_ARCH = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}
# Which secret value a function may see locally, by the ARN variable the template gives it.
SECRETS_BY_ARN_VARIABLE = {
    "AUTH_SECRET_ARN": ("AUTH_SIGNING_KEY",),
    "PLAYBACK_SECRET_ARN": ("PLAYBACK_KEY_ID", "PLAYBACK_SIGNING_KEY_PEM"),
    "STRIPE_SECRET_ARN": ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"),
}

# Runs inside the fresh interpreter: only the standard library is importable before sys.path is set.
BOOTSTRAP = r"""
import importlib, json, os, sys, time, traceback, uuid
config = json.loads(sys.argv[1])
sys.path[:0] = config["front"]
sys.path.extend(config["back"])
answers = os.fdopen(int(sys.argv[2]), "w", buffering=1)

def answer(obj):
    try:
        answers.write(json.dumps(obj) + "\n")
    except (TypeError, ValueError) as exc:  # Lambda: Runtime.MarshalError
        answers.write(json.dumps({"error": {"errorType": "Runtime.MarshalError", "errorMessage": str(exc)}}) + "\n")

def failure(exc):
    return {"errorType": type(exc).__name__, "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)}

class Context:
    def __init__(self):
        name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + name
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = "/aws/lambda/" + name
        self.log_stream_name = "smoke"
        self._deadline = time.monotonic() + config["timeout"]

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))

module_name, function_name = os.environ["_HANDLER"].rsplit(".", 1)
started = time.perf_counter()
try:
    handler = getattr(importlib.import_module(module_name), function_name)
except Exception as exc:
    answer({"init_error": failure(exc)})
    sys.exit(1)
def outside():  # modules loaded from anywhere but the function, its layers, the runtime, the stdlib
    return sorted({m.__name__.split(".")[0] for m in list(sys.modules.values())
                   if getattr(m, "__file__", None) and not m.__file__.startswith(tuple(config["allowed"]))})

answer({"init_ms": round((time.perf_counter() - started) * 1000), "outside": outside()})
for line in sys.stdin:
    event = json.loads(line)
    os.environ["_X_AMZN_TRACE_ID"] = "Root=1-%08x-%s;Parent=%s;Sampled=1" % (
        int(time.time()), uuid.uuid4().hex[:24], uuid.uuid4().hex[:16])
    began = time.perf_counter()
    try:
        result = {"response": handler(event, Context())}
    except Exception as exc:
        result = {"error": failure(exc)}
    result["ms"] = round((time.perf_counter() - began) * 1000)
    answer(result)
answer({"outside": outside()})  # again: requests import lazily (argon2 at the first password, ...)
"""


class SmokeFailure(Exception):
    pass


# ------------------------------------------------------------------ build

def host_arch() -> str:
    machine = platform.machine().lower()
    if machine not in LAMBDA_ARCH:
        raise SmokeFailure(f"unsupported machine {machine!r}: Lambda runs arm64 or x86_64")
    return LAMBDA_ARCH[machine]


def _swap_arch(node: Any, arch: str) -> Any:
    if isinstance(node, dict):
        return {key: _swap_arch(value, arch) for key, value in node.items()}
    if isinstance(node, list):
        return [_swap_arch(value, arch) for value in node]
    return arch if node == "arm64" else node


def host_template(arch: str, dest: Path) -> Path:
    """template.yaml with every arm64 replaced by `arch`, written to `dest` (JSON, which SAM reads as
    YAML). Function code paths become absolute (the copy lives elsewhere); each layer's folder is
    copied beside it, because layers/common/Makefile reads the architecture from the template two
    folders above itself: SAM's build cache keys on the template, so another architecture must
    come from another template, never from the environment."""
    template = _swap_arch(tpl.load(str(tpl.TEMPLATE_PATH)), arch)
    for resource in template["Resources"].values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            value = properties.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                if key == "ContentUri":
                    copy = dest.parent / value
                    shutil.rmtree(copy, ignore_errors=True)
                    shutil.copytree(ROOT / value, copy, ignore=shutil.ignore_patterns("__pycache__"))
                    properties[key] = str(copy.resolve())
                else:
                    properties[key] = str((ROOT / value).resolve())
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(template, indent=1))
    return dest


def sam_build(arch: str, build_dir: Path) -> None:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "SAM_CLI_TELEMETRY": "0"}
    sam = [str(bin_dir / "sam") if (bin_dir / "sam").exists() else "sam", "build", "--parallel", "--cached"]
    if arch == "arm64" and build_dir == AWS_SAM / "build":
        command = sam  # the real build, exactly as `make build` makes it (samconfig.toml)
    else:
        variant = host_template(arch, AWS_SAM / "smoke-template" / "template.yaml")
        command = sam + ["--template-file", str(variant), "--build-dir", str(build_dir),
                         "--cache-dir", str(AWS_SAM / "smoke-cache")]
    print(f"== sam build ({arch}) -> {os.path.relpath(build_dir, ROOT)}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stdout.write(result.stdout[-6000:] + result.stderr[-6000:])
        raise SmokeFailure("sam build failed")
    from lectern_dev.build_arch import wrong_machine_files

    wrong = wrong_machine_files(build_dir)
    if wrong:
        raise SmokeFailure("native files for the wrong machine:\n  " + "\n  ".join(wrong[:20]))
    print(f"   built in {time.monotonic() - started:.0f}s", flush=True)


def ensure_lambda_runtime() -> Path:
    """boto3 and botocore (and what they pull: s3transfer, jmespath, python-dateutil, six, urllib3),
    at the versions pinned in lambda-runtime.lock, in .aws-sam/lambda-runtime: the stand-in for what
    Lambda ships (lambda-runtime.txt says which version and how to check it)."""
    wanted = RUNTIME_LOCK.read_text()
    marker = RUNTIME_DIR / ".installed"
    if marker.exists() and marker.read_text() == wanted:
        return RUNTIME_DIR
    shutil.rmtree(RUNTIME_DIR, ignore_errors=True)
    pins = " ".join(line.split(" ")[0] for line in wanted.splitlines() if "==" in line)
    print(f"== installing the Lambda runtime's packages ({pins}) into {RUNTIME_DIR.relative_to(ROOT)}", flush=True)
    # --no-warn-conflicts: pip would compare the stand-in's versions with the dev venv's packages (SAM CLI
    # pins its own boto3), though --target installs beside them and changes nothing there.
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
                    "--no-warn-conflicts", "--require-hashes", "--target", str(RUNTIME_DIR), "-r", str(RUNTIME_LOCK)],
                   check=True)
    marker.write_text(wanted)
    return RUNTIME_DIR


# ------------------------------------------------------------------ built template

@dataclass
class BuiltFunction:
    logical_id: str
    code_dir: Path
    handler: str
    layer_dirs: list[Path]
    environment: dict[str, str]
    timeout: int
    memory: int
    is_function_url: bool
    is_sns: bool
    source_folder: str
    is_scheduled: bool = False
    routes: list[tuple[str, str]] = field(default_factory=list)
    samples: list[Path] = field(default_factory=list)


def built_functions(build_dir: Path) -> dict[str, BuiltFunction]:
    built = tpl.load(str(build_dir / "template.yaml"))
    source_specs = tpl.functions()
    globals_function = built.get("Globals", {}).get("Function", {})
    layers = {name: build_dir / res["Properties"]["ContentUri"] / "python"
              for name, res in tpl.resources_of_type(built, "AWS::Serverless::LayerVersion").items()}
    functions: dict[str, BuiltFunction] = {}
    for logical_id, resource in tpl.resources_of_type(built, "AWS::Serverless::Function").items():
        props = resource["Properties"]
        refs = [*globals_function.get("Layers", []), *props.get("Layers", [])]
        layer_dirs = []
        for ref in refs:
            name = ref.get("Ref") if isinstance(ref, dict) else None
            if name not in layers:
                raise SmokeFailure(f"{logical_id}: layer {ref!r} is not a layer of this template")
            layer_dirs.append(layers[name])
        spec = source_specs[logical_id]
        functions[logical_id] = BuiltFunction(
            logical_id=logical_id, code_dir=build_dir / props["CodeUri"], handler=props["Handler"],
            layer_dirs=layer_dirs, environment=spec.environment,
            timeout=int(props.get("Timeout", globals_function.get("Timeout", 3))),
            memory=int(props.get("MemorySize", globals_function.get("MemorySize", 128))),
            is_function_url=spec.has_function_url, routes=spec.http_routes, source_folder=spec.code_dir.name,
            is_scheduled=bool(spec.schedules), is_sns=invoked_by_sns(resource))
    return functions


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


# ------------------------------------------------------------------ packaging budgets

SIZE_BUDGET_BYTES = 40 * 1000 * 1000  # function + layers, unzipped (docs/performance.md)
RUNTIME_SHIPPED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
_UNCHECKED_HASH = 0b01  # .pyc header flags: hash-based, source not checked (PEP 552)


def modules_without_bytecode(layer_python: Path) -> list[str]:
    """The layer's .py files with no unchecked-hash .pyc for this interpreter beside them."""
    tag = sys.implementation.cache_tag
    missing = []
    for source in layer_python.rglob("*.py"):
        pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        try:
            flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        except FileNotFoundError:
            flags = None
        if flags != _UNCHECKED_HASH:
            missing.append(str(source.relative_to(layer_python)))
    return missing


def packaging_problems(function: BuiltFunction, size: int, checked: dict[Path, list[str]]) -> list[str]:
    problems = []
    if size > SIZE_BUDGET_BYTES:
        problems.append(f"{size / 1e6:.1f} MB unzipped with its layers: over the {SIZE_BUDGET_BYTES / 1e6:.0f} MB budget")
    for layer in function.layer_dirs:
        if layer not in checked:
            found = [name for name in RUNTIME_SHIPPED if (layer / name).exists()]
            checked[layer] = [f"{layer.parent.name} ships {', '.join(found)} (the runtime has them)"] if found else []
            missing = modules_without_bytecode(layer)
            if missing:
                checked[layer].append(f"{layer.parent.name}: {len(missing)} modules without bytecode, e.g. "
                                      + ", ".join(missing[:3]))
        problems += checked[layer]
    return problems


# ------------------------------------------------------------------ samples

def samples_for(folder: str) -> list[Path]:
    return sorted(EVENTS_DIR.glob(f"{folder}*.json"))


def invoked_by_sns(resource: dict[str, Any]) -> bool:
    """A function whose events are SNS notifications (EmailFeedbackFunction), not HTTP requests."""
    events = (resource.get("Properties") or {}).get("Events") or {}
    return any(event.get("Type") == "SNS" for event in events.values())


def check_sns_sample(event: dict[str, Any]) -> list[str]:
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        return ["an SNS event has Records"]
    return [f"record {i} is not an SNS notification with a Message" for i, record in enumerate(records)
            if record.get("EventSource") != "aws:sns" or not isinstance((record.get("Sns") or {}).get("Message"), str)]


def check_scheduled_sample(event: dict[str, Any]) -> list[str]:
    """Why `event` is not an EventBridge "Scheduled Event", as a `Schedule` event source sends."""
    problems = []
    if event.get("source") != "aws.events" or event.get("detail-type") != "Scheduled Event":
        problems.append('a scheduled event has source "aws.events" and detail-type "Scheduled Event"')
    for key in ("id", "time", "account", "region"):
        if not event.get(key):
            problems.append(f"no {key}")
    if not isinstance(event.get("resources"), list) or not event["resources"]:
        problems.append("no resources (the rule's ARN)")
    if not isinstance(event.get("detail"), dict):
        problems.append("no detail object")
    return problems


def check_sample(event: dict[str, Any], *, routes: list[tuple[str, str]], function_url: bool,
                 scheduled: bool = False, sns: bool = False) -> list[str]:
    """Why `event` is not an event `sam local invoke` could hand this function ([] if it is):
    API Gateway HTTP API payload 2.0 for one of its routes, a function URL event, (`sns`) an SNS
    notification, or (for a function with a Schedule and no routes) an EventBridge scheduled event."""
    if sns:
        return check_sns_sample(event)
    if scheduled and not routes and not function_url:
        return check_scheduled_sample(event)
    problems = []
    http = (event.get("requestContext") or {}).get("http") or {}
    if event.get("version") != "2.0":
        problems.append("version is not 2.0")
    for key in ("routeKey", "rawPath", "headers"):
        if key not in event:
            problems.append(f"no {key}")
    if not http.get("method") or not http.get("path"):
        problems.append("no requestContext.http.method / path")
    if event.get("rawPath") != http.get("path"):
        problems.append("rawPath and requestContext.http.path differ")
    if (event.get("requestContext") or {}).get("routeKey") != event.get("routeKey"):
        problems.append("routeKey and requestContext.routeKey differ")
    if function_url:
        if event.get("routeKey") != "$default":
            problems.append("a function URL event's routeKey is $default")
        if ".lambda-url." not in str((event.get("headers") or {}).get("host", "")):
            problems.append("a function URL event's host is <url-id>.lambda-url.<region>.on.aws")
    else:
        route_keys = {f"{method} {path}" if path != "$default" else "$default" for method, path in routes}
        if event.get("routeKey") not in route_keys:
            problems.append(f"routeKey {event.get('routeKey')!r} is not a route of this function")
        elif event.get("routeKey") != "$default" and event["routeKey"].split(" ", 1)[0] != http.get("method"):
            problems.append("routeKey and requestContext.http.method differ")
    return problems


def _sample_order(path: Path) -> tuple[int, str]:
    # Register, then log in: the other samples use the tokens those answers give.
    firsts = ["auth_register.json", "auth_login.json", "auth_refresh.json"]
    return (firsts.index(path.name) if path.name in firsts else len(firsts), path.name)


class Chain:
    """Values earlier answers give, filled into later samples' placeholders."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.session_id: str | None = None
        self.webhook_secret = os.environ["STRIPE_WEBHOOK_SECRET"]

    def prepare(self, sample: Path, event: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(event)
        if self.access_token:
            text = re.sub(r"<access_token[^>]*>", self.access_token, text)
        if self.refresh_token:
            text = text.replace("<refresh_token>", self.refresh_token)
        if self.session_id:
            text = text.replace(SAMPLE_SESSION_ID, self.session_id)
        event = json.loads(text)
        if "stripe-signature" in {k.lower() for k in (event.get("headers") or {})}:
            event = self._signed(event)
        return event

    def _signed(self, event: dict[str, Any]) -> dict[str, Any]:
        """`python -m lectern_admin events sign`, on the (already filled-in) event."""
        from lectern_admin.events_cmd import run_sign

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(event, handle)
        try:
            out = io.StringIO()
            run_sign(argparse.Namespace(file=handle.name, secret=self.webhook_secret), out=out)
        finally:
            os.unlink(handle.name)
        return json.loads(out.getvalue())

    def learn(self, sample: Path, response: dict[str, Any]) -> None:
        try:
            body = json.loads(response.get("body") or "null")
        except ValueError:
            return
        if not isinstance(body, dict):
            return
        if sample.name in ("auth_login.json", "auth_refresh.json") and body.get("access_token"):
            self.access_token, self.refresh_token = body["access_token"], body.get("refresh_token")
        if sample.name == "checkout_create.json":
            session_id = body.get("checkout_session_id")
            if session_id:
                self.session_id = session_id
                self.emulator.pay(session_id)  # the buyer pays; the webhook sample then reports it

    def missing(self) -> list[str]:
        return [what for what, value in (("an access token (auth_login)", self.access_token),
                                         ("a checkout session (checkout_create)", self.session_id)) if not value]


def create_promotion_codes(functions, api_key: str, api_base: str) -> None:
    """The promotion codes the samples use, as an operator would have made them in Stripe's dashboard."""
    import stripe

    codes = set()
    for function in functions:
        for sample in function.samples:
            try:
                body = json.loads(json.loads(sample.read_text()).get("body") or "null")
            except ValueError:
                continue
            if isinstance(body, dict) and body.get("promotion_code"):
                codes.add(body["promotion_code"])
    client = stripe.StripeClient(api_key, base_addresses={"api": api_base})
    for code in sorted(codes):
        coupon = client.v1.coupons.create(params={"percent_off": 20, "duration": "once"})
        client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": code})


# ------------------------------------------------------------------ invoking

@dataclass
class Outcome:
    sample: str
    status: int | None
    ms: int
    problem: str | None = None


def lambda_environment(function: BuiltFunction, secrets: dict[str, str], aws_endpoint: str) -> dict[str, str]:
    """The function's variables from the template; the secret values its *_SECRET_ARN variables stand
    for (as the local stack gives them, and only those); what Lambda itself sets."""
    env = dict(function.environment)
    for arn_variable, names in SECRETS_BY_ARN_VARIABLE.items():
        if arn_variable in env:
            env.update({name: secrets[name] for name in names if name in secrets})
    env.update({
        # Lambda's reserved variables (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html)
        "_HANDLER": function.handler, "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": function.logical_id, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.logical_id}", "AWS_LAMBDA_LOG_STREAM_NAME": "smoke",
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "lectern-smoke", "AWS_SECRET_ACCESS_KEY": "lectern-smoke",
        "AWS_SESSION_TOKEN": "lectern-smoke",
        "LAMBDA_TASK_ROOT": str(function.code_dir), "LAMBDA_RUNTIME_DIR": str(RUNTIME_DIR),
        "LANG": "en_US.UTF-8", "TZ": ":UTC", "PATH": "/usr/local/bin:/usr/bin:/bin",
        # Tracing stays on, as deployed (Tracing: Active); segments go to a UDP port nobody reads.
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        # Only difference from AWS: the SDK talks to the embedded one.
        "AWS_ENDPOINT_URL": aws_endpoint,
    })
    return env


def invoke_function(function: BuiltFunction, chain: Chain, secrets: dict[str, str], aws_endpoint: str,
                    log_dir: Path) -> tuple[int | None, list[str], list[Outcome]]:
    front = [str(function.code_dir), *(str(d) for d in function.layer_dirs)]
    back = [str(RUNTIME_DIR)]
    stdlib = sorted({sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")})
    config = {"front": front, "back": back, "timeout": function.timeout,
              "allowed": [os.path.join(p, "") for p in (*front, *back, *stdlib)]}
    read_fd, write_fd = os.pipe()
    log_path = log_dir / f"{function.logical_id}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            # -B: /var/task and /opt are read-only in Lambda, nothing writes .pyc there.
            [sys.executable, "-I", "-S", "-B", "-c", BOOTSTRAP, json.dumps(config), str(write_fd)],
            cwd=function.code_dir, env=lambda_environment(function, secrets, aws_endpoint),
            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, text=True, pass_fds=[write_fd])
    os.close(write_fd)
    answers = os.fdopen(read_fd)

    def next_answer() -> dict[str, Any] | None:
        ready, _, _ = select.select([answers], [], [], INVOKE_TIMEOUT)
        if not ready:
            return None
        line = answers.readline()
        return json.loads(line) if line else None

    outcomes: list[Outcome] = []
    try:
        init = next_answer()
        if init is None or "init_error" in init:
            error = (init or {}).get("init_error") or {"errorMessage": "no answer (crashed or timed out)"}
            detail = "".join(error.get("stackTrace") or [])[-3000:]
            raise SmokeFailure(f"cannot start: {error.get('errorType', '')}: "
                               f"{error.get('errorMessage')}\n{detail}")
        for sample in sorted(function.samples, key=_sample_order):
            event = chain.prepare(sample, json.loads(sample.read_text()))
            process.stdin.write(json.dumps(event) + "\n")
            process.stdin.flush()
            answer = next_answer()
            outcomes.append(_judge(sample.name, answer, http=not (function.is_sns or (function.is_scheduled and not function.routes))))
            if answer and isinstance(answer.get("response"), dict):
                chain.learn(sample, answer["response"])
        process.stdin.close()
        final = next_answer() or {}
        outside = sorted({*init.get("outside", []), *final.get("outside", [])})
    finally:
        if not process.stdin.closed:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        answers.close()
    return init.get("init_ms"), outside, outcomes


def _judge(sample: str, answer: dict[str, Any] | None, *, http: bool = True) -> Outcome:
    if answer is None:
        return Outcome(sample, None, 0, "no answer (crashed or timed out)")
    ms = answer.get("ms", 0)
    if "error" in answer:
        error = answer["error"]
        trace = "".join(error.get("stackTrace") or [])[-2000:]
        return Outcome(sample, None, ms, f"Lambda error {error.get('errorType')}: {error.get('errorMessage')}\n{trace}")
    response = answer.get("response")
    if isinstance(response, dict) and ("errorMessage" in response or "errorType" in response):
        return Outcome(sample, None, ms, f"Lambda error payload: {response}")
    if not http:  # an asynchronous source (a schedule, SNS): any answer that is not an error will do
        return Outcome(sample, None, ms)
    if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
        return Outcome(sample, None, ms, f"not an HTTP answer: {str(response)[:300]}")
    status = response["statusCode"]
    if status >= 500:
        return Outcome(sample, status, ms, f"answered {status}: {str(response.get('body'))[:500]}")
    return Outcome(sample, status, ms)


# ------------------------------------------------------------------ main

def run(build_dir: Path, *, build: bool, keep_logs: bool) -> int:
    arch = host_arch()
    if build:
        sam_build(arch, build_dir)
    if not (build_dir / "template.yaml").exists():
        raise SmokeFailure(f"no build in {build_dir} (run without --no-build)")
    ensure_lambda_runtime()
    functions = built_functions(build_dir)
    # Left in a function folder by a run without -B, not built (the layers' bytecode is built).
    for function in functions.values():
        for cache in function.code_dir.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)

    problems: list[str] = []
    for function in functions.values():
        function.samples = samples_for(function.source_folder)
        if not function.samples:
            problems.append(f"{function.logical_id}: no sample event (events/{function.source_folder}*.json)")
        for sample in function.samples:
            for problem in check_sample(json.loads(sample.read_text()), routes=function.routes,
                                        function_url=function.is_function_url, scheduled=function.is_scheduled,
                                        sns=function.is_sns):
                problems.append(f"{sample.relative_to(ROOT)} ({function.logical_id}): {problem}")
    if problems:
        raise SmokeFailure("sample events:\n  " + "\n  ".join(problems))

    from lectern_dev.dev_keys import local_secrets_environment
    from lectern_dev.stack import DEMO_CATALOG, set_default_aws_environment

    set_default_aws_environment()
    os.environ.pop("AWS_ENDPOINT_URL", None)
    secrets = {**local_secrets_environment(), "STRIPE_SECRET_KEY": "sk_test_lectern_smoke",
               "STRIPE_WEBHOOK_SECRET": "whsec_" + os.urandom(16).hex()}
    os.environ.update({k: secrets[k] for k in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")})

    from moto.server import ThreadedMotoServer

    from lectern.payments.webhook import SUBSCRIBED_EVENTS
    from lectern_dev.stripe_emulator import StripeEmulator

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    # No webhook URL: the smoke delivers the webhook sample itself.
    emulator = StripeEmulator(api_key=secrets["STRIPE_SECRET_KEY"], webhook_secret=secrets["STRIPE_WEBHOOK_SECRET"],
                              enabled_events=SUBSCRIBED_EVENTS).start()
    log_dir = Path(tempfile.mkdtemp(prefix="lectern-smoke-"))
    failed = False
    try:
        host, port = moto.get_host_and_port()
        aws_endpoint = f"http://{host}:{port}"
        os.environ["AWS_ENDPOINT_URL"] = aws_endpoint
        os.environ["STRIPE_API_BASE"] = secrets["STRIPE_API_BASE"] = emulator.base_url
        from lectern.config import reset_settings

        reset_settings()  # read when lectern.payments.webhook was imported, before these were set
        from lectern_admin.catalog_cmd import apply_file
        from lectern_dev import aws_resources

        aws_resources.create_all()
        apply_file(DEMO_CATALOG, use_stripe=True, quiet=True)
        create_promotion_codes(functions.values(), secrets["STRIPE_SECRET_KEY"], emulator.base_url)

        chain = Chain(emulator)
        print(f"== invoking {len(functions)} functions from {os.path.relpath(build_dir, ROOT)} "
              f"(python -I -S; runtime stand-in {RUNTIME_DIR.relative_to(ROOT)})", flush=True)
        checked_layers: dict[Path, list[str]] = {}
        for function in functions.values():
            size = tree_size(function.code_dir) + sum(tree_size(d.parent) for d in function.layer_dirs)
            layers = "+".join(d.parent.name for d in function.layer_dirs)
            for problem in packaging_problems(function, size, checked_layers):
                failed = True
                print(f"FAIL {function.logical_id}: {problem}")
            try:
                init_ms, outside, outcomes = invoke_function(function, chain, secrets, aws_endpoint, log_dir)
            except SmokeFailure as exc:
                failed = True
                print(f"FAIL {function.logical_id}: {exc}")
                _show_log(log_dir / f"{function.logical_id}.log")
                continue
            print(f"{function.logical_id:<22} import {init_ms:>5} ms  {size / 1e6:5.1f} MB unzipped ({layers})")
            if outside:
                failed = True
                print(f"  FAIL imported from outside the function, its layers and the runtime: {outside}")
            for outcome in outcomes:
                mark = "ok  " if outcome.problem is None else "FAIL"
                print(f"  {mark} {outcome.sample:<28} {outcome.status if outcome.status is not None else '-':>3} "
                      f"{outcome.ms:>5} ms")
                if outcome.problem:
                    failed = True
                    print("       " + outcome.problem.replace("\n", "\n       "))
            if any(o.problem for o in outcomes):
                _show_log(log_dir / f"{function.logical_id}.log")
        for what in chain.missing():
            failed = True
            print(f"FAIL the chain of samples never produced {what}")
    finally:
        emulator.stop()
        moto.stop()
        if keep_logs or failed:
            print(f"function logs: {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)
    print("smoke: FAILED" if failed else "smoke: every function within the packaging budgets, imported, and answered every sample without a 5xx")
    return 1 if failed else 0


def _show_log(path: Path, lines: int = 40) -> None:
    if path.exists():
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        if tail:
            print(f"  --- last {len(tail)} lines of {path.name}:\n    " + "\n    ".join(tail))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="use the existing build, do not run sam build")
    parser.add_argument("--build-dir", type=Path, help="default: .aws-sam/build on aarch64, else .aws-sam/smoke-build")
    parser.add_argument("--keep-logs", action="store_true", help="keep the functions' logs (always kept on failure)")
    args = parser.parse_args(argv)
    build_dir = (args.build_dir or (AWS_SAM / ("build" if host_arch() == "arm64" else "smoke-build"))).resolve()
    try:
        return run(build_dir, build=not args.no_build, keep_logs=args.keep_logs)
    except SmokeFailure as exc:
        print(f"smoke: FAILED: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
