"""The layers install hash-pinned locks (scripts/lock-layers writes them from requirements-*.txt): each
lock agrees with its .txt, pins every package with the hashes of its wheels, and two layers never
pin one package differently (Lambda merges the layers into one folder)."""
import re

from lectern_dev import template as tpl

ROOT = tpl.REPO_ROOT
LAYERS = ROOT / "layers" / "common"
RUNTIME = ROOT / "devtools" / "lectern_dev"
# Packages with compiled code: the lock must hold the aarch64 wheel (deployed) and the x86_64 one (smoke).
NATIVE = {"pydantic-core", "wrapt", "cffi", "cryptography", "argon2-cffi-bindings", "charset-normalizer", "fonttools",
          "pillow"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]+\])?==(\S+)", line).groups()
            pins[canonical(name)] = version
    return pins


def lock(path) -> dict[str, tuple[str, tuple[str, ...]]]:
    entries = {}
    for block in re.split(r"\n(?=\S)", path.read_text()):
        if block.startswith("#") or not block.strip():
            continue
        head = re.match(r"([a-z0-9-]+)==(\S+) \\", block)
        assert head, block
        entries[head[1]] = (head[2], tuple(re.findall(r"--hash=sha256:([0-9a-f]{64})", block)))
    return entries


def layer_files():
    return sorted(LAYERS.glob("requirements-*.txt"))


def test_every_layer_requirement_file_has_its_lock_and_agrees_with_it():
    assert [p.name for p in layer_files()] == ["requirements-auth-payments.txt", "requirements-certificate.txt",
                                               "requirements-core.txt", "requirements-playback.txt"]
    for source in layer_files():
        locked = lock(source.with_suffix(".lock"))
        for name, version in requirements(source).items():
            assert locked[name][0] == version, (source.name, name)


def test_every_locked_package_has_its_wheel_hashes():
    for path in [*LAYERS.glob("*.lock"), RUNTIME / "lambda-runtime.lock"]:
        for name, (version, hashes) in lock(path).items():
            assert hashes, (path.name, name)
            assert len(hashes) == (2 if name in NATIVE else 1), (path.name, name, version)


def test_layers_pin_shared_packages_alike():
    seen: dict[str, tuple[str, tuple[str, ...], str]] = {}
    for path in LAYERS.glob("*.lock"):
        for name, pinned in lock(path).items():
            if name in seen:
                assert seen[name][:2] == pinned, (name, seen[name][2], path.name)
            seen[name] = (*pinned, path.name)


def test_the_runtime_stand_in_is_pinned_and_the_layers_resolve_against_its_botocore():
    runtime = lock(RUNTIME / "lambda-runtime.lock")
    wanted = requirements(RUNTIME / "lambda-runtime.txt")
    assert set(wanted) == {"boto3", "botocore"}
    for name, version in wanted.items():
        assert runtime[name][0] == version
    # PynamoDB and aws-xray-sdk pull botocore in; the build removes it (the runtime has it), but the layer's
    # dependencies were resolved against the version the runtime really ships.
    assert lock(LAYERS / "requirements-core.lock")["botocore"][0] == runtime["botocore"][0]


def test_the_smoke_installs_the_runtime_lock_with_hashes():
    smoke = (RUNTIME / "smoke.py").read_text()
    assert 'RUNTIME_LOCK = Path(__file__).with_name("lambda-runtime.lock")' in smoke
    assert '"--require-hashes"' in smoke
