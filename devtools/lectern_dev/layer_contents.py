"""What each function's layers ship, read from template.yaml and layers/common/requirements-*.txt.

A layer named `<Name>Layer` is built from `requirements-<name>.txt` (CoreLayer from
requirements-core.txt, AuthPaymentsLayer from requirements-auth-payments.txt) plus its
dependencies, without what the Lambda runtime ships (boto3 and its dependencies) and without
the distributions the layer build deletes (layers/common/Makefile, UNUSED_DISTRIBUTIONS).
Used by bench/ (to assemble a function's sandbox from the dev venv) and by the tests (to
check that a function imports nothing its layers do not ship).
"""
import importlib.metadata as md
import re
from pathlib import Path

from packaging.requirements import Requirement

from lectern_dev import template as tpl

LAYERS_SOURCE = tpl.REPO_ROOT / "layers" / "common"
# The Lambda python3.13 runtime's own packages (AWS SDK and its dependencies).
RUNTIME_DISTRIBUTIONS = ["boto3"]
# Deleted by the layer build (Makefile UNUSED_DISTRIBUTIONS): the Stripe SDK's optional HTTP client,
# and Pillow, which fpdf2 imports only if present (images; the certificate PDF has none).
UNUSED_DISTRIBUTIONS = {"requests", "charset-normalizer", "idna", "certifi", "pillow"}


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            lines += requirement_lines(path.parent / line.split(None, 1)[1])
        elif not line.startswith("-"):
            lines.append(line)
    return lines


def closure(requirements: list[str]) -> set[str]:
    """Installed distributions needed by `requirements` (with extras), recursively."""
    found: set[str] = set()
    seen: set[tuple[str, frozenset]] = set()
    stack = [Requirement(r) for r in requirements]
    while stack:
        req = stack.pop()
        key = (normal(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError:
            continue
        found.add(normal(dist.metadata["Name"]))
        for spec in dist.requires or []:
            sub = Requirement(spec)
            if sub.marker and not any(sub.marker.evaluate({"extra": extra}) for extra in (req.extras or {""})):
                continue
            stack.append(sub)
    return found


def layer_requirements(layer_id: str) -> Path:
    """The requirements file of a layer, by convention `requirements-<name>.txt`, else the shared
    requirements.txt."""
    stem = re.sub(r"Layer$", "", layer_id)
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", stem).lower()
    candidate = LAYERS_SOURCE / f"requirements-{kebab}.txt"
    return candidate if candidate.exists() else LAYERS_SOURCE / "requirements.txt"


def layer_distributions(layer_id: str) -> set[str]:
    """The distributions the layer ships (as the build installs and trims them)."""
    wanted = closure(requirement_lines(layer_requirements(layer_id)))
    return wanted - closure(RUNTIME_DISTRIBUTIONS) - UNUSED_DISTRIBUTIONS


def _ref(value) -> str | None:
    return value.get("Ref") if isinstance(value, dict) else None


def function_layers(logical_id: str) -> list[str]:
    """The function's layers, in order: the Globals' then its own."""
    template = tpl.load()
    global_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    own = template["Resources"][logical_id]["Properties"].get("Layers", [])
    return [_ref(layer) or "Layer" for layer in [*global_layers, *own]]


def all_layers() -> list[str]:
    return sorted(tpl.resources_of_type(tpl.load(), "AWS::Serverless::LayerVersion"))


def import_names(distributions: set[str]) -> set[str]:
    """The top-level import names the distributions provide (in the dev venv)."""
    names = set()
    for name, dists in md.packages_distributions().items():
        if any(normal(dist) in distributions for dist in dists):
            names.add(name)
    return names
