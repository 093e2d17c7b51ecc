"""`make build`'s last step: every native file of a build is machine code for the architecture its
function or layer declares in the built template.

A wheel built for the wrong machine imports nowhere but on Lambda (pydantic_core, cryptography,
cffi, argon2, wrapt carry `.so` files), so a build that mixes them must never be deployed. Reads
the ELF header of every file under each function's and layer's folder (`e_machine`, offset 18).

    python -m lectern_dev.build_arch .aws-sam/build
"""
from __future__ import annotations

import sys
from pathlib import Path

from lectern_dev import template as tpl

ELF_MAGIC = b"\x7fELF"
# e_machine values (System V ABI) by name; Lambda runs the first two.
ELF_MACHINES = {183: "aarch64", 62: "x86_64", 3: "i386", 40: "arm", 243: "riscv", 21: "ppc64", 22: "s390"}
LAMBDA_MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}


def elf_machine(path: Path) -> str | None:
    """The machine an ELF file is for ('aarch64', 'x86_64', ...); None when the file is not ELF."""
    with open(path, "rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:4] != ELF_MAGIC:
        return None
    byteorder = "big" if header[5] == 2 else "little"  # EI_DATA: 1 little-endian, 2 big-endian
    number = int.from_bytes(header[18:20], byteorder)
    return ELF_MACHINES.get(number, f"e_machine {number}")


def expected_machines(built_template: dict) -> dict[str, tuple[Path, str]]:
    """{logical id: (folder relative to the build, machine)} for every function and layer."""
    default = (built_template.get("Globals", {}).get("Function", {}).get("Architectures") or ["x86_64"])[0]
    expected = {}
    for name, resource in built_template["Resources"].items():
        props = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            arch = (props.get("Architectures") or [default])[0]
            expected[name] = (Path(props["CodeUri"]), LAMBDA_MACHINE[arch])
        elif resource["Type"] == "AWS::Serverless::LayerVersion" and isinstance(props.get("ContentUri"), str):
            arch = (resource.get("Metadata") or {}).get("BuildArchitecture") or props["CompatibleArchitectures"][0]
            expected[name] = (Path(props["ContentUri"]), LAMBDA_MACHINE[arch])
    return expected


def wrong_machine_files(build_dir: Path) -> list[str]:
    """'<resource>: <file> is <machine>, not <expected>' for every native file built for the wrong machine."""
    problems = []
    for name, (folder, machine) in expected_machines(tpl.load(str(build_dir / "template.yaml"))).items():
        for path in sorted((build_dir / folder).rglob("*")):
            if path.is_file() and not path.is_symlink():
                found = elf_machine(path)
                if found is not None and found != machine:
                    problems.append(f"{name}: {path.relative_to(build_dir)} is {found}, not {machine}")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    build_dir = Path(args[0] if args else ".aws-sam/build")
    if not (build_dir / "template.yaml").exists():
        print(f"build_arch: no build in {build_dir}", file=sys.stderr)
        return 1
    problems = wrong_machine_files(build_dir)
    if problems:
        print(f"build_arch: {len(problems)} native files in {build_dir} are for the wrong machine:", file=sys.stderr)
        for problem in problems[:20]:
            print(f"  {problem}", file=sys.stderr)
        print("  Nothing here may be deployed. `make clean build` rebuilds from nothing (the layers take their\n"
              "  architecture from template.yaml; see layers/common/Makefile).", file=sys.stderr)
        return 1
    print(f"build_arch: every native file in {build_dir} matches its function's or layer's architecture")
    return 0


if __name__ == "__main__":
    sys.exit(main())
