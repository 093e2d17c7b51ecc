"""What each function's Lambda sandbox can import: /var/task, its layers (/opt/python), the runtime.

Two sources, the first that fits:
- a `sam build` output for THIS machine's architecture (`.aws-sam/smoke-build`, then
  `.aws-sam/build`): the function folder and its layers exactly as deployed;
- otherwise the source tree: `functions/<name>` and, per layer, a folder of links to the
  dev venv's copies of that layer's requirements (their dependency closure) plus `lectern`.

In both cases the runtime is a folder of links to the venv's copies of what the Lambda
python3.13 runtime ships (boto3, botocore and their dependencies), and nothing else:
the dev venv also holds SAM CLI, moto, Flask... (awscrt, pyOpenSSL, requests, blinker),
which botocore, PynamoDB and the X-Ray SDK would pick up opportunistically when present,
but which a deployed function does not have.
"""
import importlib.metadata as md
import platform
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lectern_dev import template as tpl
from lectern_dev.layer_contents import RUNTIME_DISTRIBUTIONS, closure, layer_distributions, normal

REPO = tpl.REPO_ROOT
BUILD_DIRS = [REPO / ".aws-sam" / "smoke-build", REPO / ".aws-sam" / "build"]
_MACHINE_TAGS = {"x86_64": ("x86_64", "amd64"), "aarch64": ("aarch64", "arm64"), "arm64": ("aarch64", "arm64")}


@dataclass
class FunctionLayout:
    logical_id: str
    task_dir: Path                  # /var/task
    layer_dirs: list[Path]          # /opt/python, in layer order
    module: str                     # handler module ("app")
    environment: dict[str, str] = field(default_factory=dict)


@dataclass
class Layout:
    source: str                     # "source tree" or the build folder
    runtime_dir: Path
    functions: dict[str, FunctionLayout]
    note: str = ""


# ------------------------------------------------------------------ distributions → importable names

@cache
def _top_level_entries() -> dict[str, list[Path]]:
    """distribution → the top-level files/folders it installed into site-packages."""
    entries: dict[str, list[Path]] = {}
    for dist in md.distributions():
        tops: set[str] = set()
        for file in dist.files or []:
            parts = file.parts
            if not parts or parts[0] in ("..", "bin") or parts[0].endswith((".data", ".pth")):
                continue  # (dist-info folders stay: importlib.metadata reads them, as in a layer)
            if parts[0] == "__pycache__":
                continue
            tops.add(parts[0])
        base = Path(dist.locate_file(""))
        entries[normal(dist.metadata["Name"])] = [base / top for top in sorted(tops)]
    return entries


def link_folder(distributions: set[str], into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    entries = _top_level_entries()
    for name in sorted(distributions):
        for source in entries.get(name, []):
            target = into / source.name
            if source.exists() and not target.exists():
                target.symlink_to(source)
                if source.suffix == ".py":  # a one-file module: its .pyc lives beside it, link that too
                    for pyc in (source.parent / "__pycache__").glob(f"{source.stem}.*.pyc"):
                        (into / "__pycache__").mkdir(exist_ok=True)
                        (into / "__pycache__" / pyc.name).symlink_to(pyc)
    return into


# ------------------------------------------------------------------ build output

def _host_tags() -> tuple[str, ...]:
    return _MACHINE_TAGS.get(platform.machine(), (platform.machine(),))


def built_for_this_machine(folders: list[Path]) -> bool:
    """False when a compiled extension in `folders` is for another CPU (an arm64 build on x86_64)."""
    foreign = {tag for tags in _MACHINE_TAGS.values() for tag in tags} - set(_host_tags())
    for folder in folders:
        for so in folder.rglob("*.so"):
            if any(f"-{tag}-" in so.name or f"_{tag}." in so.name for tag in foreign):
                return False
    return True


def _ref(value) -> str | None:
    return value.get("Ref") if isinstance(value, dict) else value if isinstance(value, str) else None


def build_functions(build_dir: Path) -> dict[str, FunctionLayout] | None:
    """The functions of a `sam build` output, with their layer folders; None if it is not one."""
    template_path = build_dir / "template.yaml"
    if not template_path.exists():
        return None
    built = tpl.load(str(template_path))
    resources = built["Resources"]
    global_layers = built.get("Globals", {}).get("Function", {}).get("Layers", [])
    source_specs = tpl.functions()
    found: dict[str, FunctionLayout] = {}
    for logical_id, resource in tpl.resources_of_type(built, "AWS::Serverless::Function").items():
        props = resource["Properties"]
        layer_dirs = []
        for layer in [*global_layers, *props.get("Layers", [])]:
            layer_id = _ref(layer)
            layer_res = resources.get(layer_id or "", {})
            content = layer_res.get("Properties", {}).get("ContentUri")
            if content:
                layer_dirs.append(build_dir / content / "python")
        module = props["Handler"].rsplit(".", 1)[0]
        spec = source_specs.get(logical_id)
        found[logical_id] = FunctionLayout(logical_id, build_dir / props["CodeUri"], layer_dirs, module,
                                           dict(spec.environment) if spec else {})
    return found


# ------------------------------------------------------------------ the layout

def source_functions(scratch: Path) -> dict[str, FunctionLayout]:
    template = tpl.load()
    global_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    layer_dirs: dict[str, Path] = {}
    lectern_linked = False
    found = {}
    for logical_id, spec in tpl.functions().items():
        props = template["Resources"][logical_id]["Properties"]
        dirs = []
        for layer in [*global_layers, *props.get("Layers", [])]:
            layer_id = _ref(layer) or "Layer"
            if layer_id not in layer_dirs:
                # (what the runtime ships is left out, as the layer build does: PynamoDB and the
                # X-Ray SDK depend on botocore)
                folder = link_folder(layer_distributions(layer_id), scratch / "layers" / layer_id)
                if not lectern_linked:  # the package `lectern` ships in the first (core) layer
                    (folder / "lectern").symlink_to(REPO / "layers" / "common" / "lectern")
                    lectern_linked = True
                layer_dirs[layer_id] = folder
            dirs.append(layer_dirs[layer_id])
        found[logical_id] = FunctionLayout(logical_id, spec.code_dir, dirs, spec.module, dict(spec.environment))
    return found


def runtime_folder(scratch: Path) -> Path:
    return link_folder(closure(RUNTIME_DISTRIBUTIONS), scratch / "runtime")


def discover(scratch: Path | None = None, *, use_build: bool = True) -> Layout:
    scratch = scratch or Path(tempfile.mkdtemp(prefix="lectern-bench-"))
    runtime = runtime_folder(scratch)
    skipped = []
    if use_build:
        for build_dir in BUILD_DIRS:
            functions = build_functions(build_dir)
            if not functions:
                continue
            folders = sorted({d for f in functions.values() for d in f.layer_dirs} | {f.task_dir for f in functions.values()})
            if built_for_this_machine(folders):
                return Layout(str(build_dir.relative_to(REPO)), runtime, functions)
            skipped.append(f"{build_dir.relative_to(REPO)} is built for another CPU than this {platform.machine()}")
    return Layout("source tree", runtime, source_functions(scratch), note="; ".join(skipped))


def sandbox_path(function: FunctionLayout, runtime: Path) -> list[str]:
    """sys.path as Lambda sets it: the task, the layers, the runtime's packages."""
    return [str(function.task_dir), *map(str, function.layer_dirs), str(runtime)]

