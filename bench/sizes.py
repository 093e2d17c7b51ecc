"""Deployed size per function: its folder plus its layers, unzipped (`du -sb`), from a build."""
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.layout import BUILD_DIRS, REPO, built_for_this_machine, build_functions

BUDGET_BYTES = 40 * 1000 * 1000  # 40 MB unzipped, function + layers


@dataclass
class SizeResult:
    logical_id: str
    function_bytes: int
    layers: list[tuple[str, int]]   # (layer folder, bytes)

    @property
    def total(self) -> int:
        return self.function_bytes + sum(size for _name, size in self.layers)

    @property
    def met(self) -> bool:
        return self.total <= BUDGET_BYTES


def du_sb(path: Path, *, bytecode: bool = True) -> int:
    """Bytes under path; bytecode=False leaves __pycache__ out (a function folder ships none, but a
    run without -B may have written some; the layers' bytecode is built and deployed)."""
    exclude = [] if bytecode else ["--exclude=__pycache__"]
    return int(subprocess.run(["du", "-sb", *exclude, str(path)], capture_output=True, text=True,
                              check=True).stdout.split()[0])


def _current_layer_ids() -> set[str]:
    from lectern_dev import template as tpl

    return set(tpl.resources_of_type(tpl.load(), "AWS::Serverless::LayerVersion"))


def measure() -> tuple[str, list[SizeResult]]:
    """From the newest build whose layers are the template's current ones (the deployed arm64
    `.aws-sam/build` preferred when it is current); ("", []) without one."""
    wanted = _current_layer_ids()
    candidates = []
    for build_dir in BUILD_DIRS:
        functions = build_functions(build_dir)
        if not functions:
            continue
        from lectern_dev import template as tpl

        built_layers = set(tpl.resources_of_type(tpl.load(str(build_dir / "template.yaml")),
                                                 "AWS::Serverless::LayerVersion"))
        if built_layers != wanted:
            continue
        candidates.append((build_dir, functions))
    if not candidates:
        return "", []
    build_dir, functions = candidates[-1]  # BUILD_DIRS lists the deployed arm64 build last
    folders = sorted({d for f in functions.values() for d in f.layer_dirs} | {f.task_dir for f in functions.values()})
    from lectern_dev import template as tpl

    deployed_arch = "/".join(tpl.load().get("Globals", {}).get("Function", {}).get("Architectures", ["?"]))
    arch = platform.machine() if built_for_this_machine(folders) else f"{deployed_arch}, as deployed"
    results = []
    sizes: dict[Path, int] = {}
    for logical_id, function in sorted(functions.items()):
        layers = []
        for layer_python in function.layer_dirs:
            layer_dir = layer_python.parent  # the layer's content: python/...
            sizes.setdefault(layer_dir, du_sb(layer_dir))
            layers.append((layer_dir.name, sizes[layer_dir]))
        results.append(SizeResult(logical_id, du_sb(function.task_dir, bytecode=False), layers))
    return f"{build_dir.relative_to(REPO)} ({arch})", results
