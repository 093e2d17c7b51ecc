"""Builds that cannot ship the wrong binaries: the layers' architecture comes from the template, never
the environment, and `make build` fails on any native file built for another machine."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lectern_dev import template as tpl
from lectern_dev.build_arch import elf_machine, main, wrong_machine_files

ROOT = tpl.REPO_ROOT
# A minimal 64-bit little-endian ELF header for aarch64 (e_machine 183 at offset 18).
AARCH64_HEADER = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x03\x00" + (183).to_bytes(2, "little") + b"\x01\x00\x00\x00"


def x86_64_shared_object() -> Path:
    """A real x86-64 .so from the dev venv (pydantic_core's, or whichever the venv has)."""
    site = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    for candidate in sorted(site.rglob("*.so")):
        if elf_machine(candidate) == "x86_64":
            return candidate
    pytest.skip("no x86-64 shared object in this venv (an aarch64 machine)")


def fake_build(tmp_path: Path) -> Path:
    """A build folder shaped like .aws-sam/build: the built template and one folder per function and layer."""
    build = tmp_path / "build"
    build.mkdir()
    template = {"Globals": {"Function": {"Architectures": ["arm64"]}}, "Resources": {
        "CatalogFunction": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "CatalogFunction"}},
        "CoreLayer": {"Type": "AWS::Serverless::LayerVersion", "Metadata": {"BuildArchitecture": "arm64"},
                      "Properties": {"ContentUri": "CoreLayer", "CompatibleArchitectures": ["arm64"]}}}}
    import json

    (build / "template.yaml").write_text(json.dumps(template))
    (build / "CatalogFunction").mkdir()
    (build / "CatalogFunction" / "app.py").write_text("print('hi')\n")
    (build / "CoreLayer" / "python" / "pkg").mkdir(parents=True)
    (build / "CoreLayer" / "python" / "pkg" / "_native.cpython-313-aarch64-linux-gnu.so").write_bytes(
        AARCH64_HEADER + b"\x00" * 64)
    return build


def test_elf_headers_are_read():
    assert elf_machine(x86_64_shared_object()) == "x86_64"
    assert elf_machine(Path(__file__)) is None


def test_an_aarch64_build_passes(tmp_path, capsys):
    build = fake_build(tmp_path)
    assert wrong_machine_files(build) == []
    assert main([str(build)]) == 0


def test_one_x86_64_file_in_an_arm64_layer_fails_the_build(tmp_path, capsys):
    build = fake_build(tmp_path)
    shutil.copy(x86_64_shared_object(), build / "CoreLayer" / "python" / "pkg" / "_other.so")
    assert wrong_machine_files(build) == ["CoreLayer: CoreLayer/python/pkg/_other.so is x86_64, not aarch64"]
    assert main([str(build)]) == 1
    assert "wrong machine" in capsys.readouterr().err


def test_make_build_runs_the_check():
    makefile = (ROOT / "Makefile").read_text()
    build = makefile.split("\nbuild:", 1)[1].split("\n\n", 1)[0]
    assert "sam build" in build and "-m lectern_dev.build_arch .aws-sam/build" in build
    assert build.index("sam build") < build.index("lectern_dev.build_arch")


def _machine(makefile_dir: Path, layer: str, **env) -> str:
    result = subprocess.run(["make", "-s", "-C", "/", "-f", str(makefile_dir / "Makefile"), f"print-machine-{layer}",
                             f"PYTHON={sys.executable}"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_layer_build_takes_its_architecture_from_the_template_not_the_environment():
    layers = tpl.resources_of_type(tpl.load(), "AWS::Serverless::LayerVersion")
    for name, layer in layers.items():
        assert layer["Metadata"]["BuildArchitecture"] == "arm64"
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
        # What once poisoned SAM's build cache: LAYER_ARCH in the environment of `make build`.
        assert _machine(ROOT / "layers" / "common", name, LAYER_ARCH="x86_64") == "aarch64", name


def test_the_smokes_x86_64_variant_builds_x86_64_layers(tmp_path):
    from lectern_dev.smoke import host_template

    host_template("x86_64", tmp_path / "template.yaml")
    assert _machine(tmp_path / "layers" / "common", "CoreLayer") == "x86_64"


def test_the_layer_makefile_installs_the_locks_with_hashes():
    makefile = (ROOT / "layers" / "common" / "Makefile").read_text()
    assert "--require-hashes" in makefile
    assert "LAYER_ARCH" not in makefile.split("# Left out on purpose", 1)[1]
    for name in tpl.resources_of_type(tpl.load(), "AWS::Serverless::LayerVersion"):
        target = makefile.split(f"\nbuild-{name}:", 1)[1].split("\n\n", 1)[0]
        assert ".lock" in target and ".txt" not in target, name
