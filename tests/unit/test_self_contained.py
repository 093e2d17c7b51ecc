"""A fresh clone runs with nothing beside it: no file of the project refers to a path outside
the repository (the Stripe emulator's sample objects and the HTTP contract once lived in a
folder next to it). `.ci/run` proves the same by running from a copy in an empty folder."""
import re
import subprocess
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parents[2]
# What .gitignore keeps out of the repository, for a tree without git metadata (CI's copy).
_UNTRACKED_DIRS = {".git", ".venv", ".venv-checkov", ".aws-sam", "__pycache__", ".pytest_cache",
                   ".hypothesis", ".local"}

_OUTSIDE = [
    (re.compile(r"\.\./+shared\b"), "the shared folder beside the repository"),
    (re.compile(r"""\bparent\s*/\s*["']shared["']"""), "the shared folder beside the repository"),
    (re.compile(r"\b\w*(?:ROOT|REPO)\w*\.parent\b"), "the folder above the repository root"),
]
_UP = re.compile(r"(?<![\w.])((?:\.\./)+)")  # a relative path's leading ../ steps
_PARENTS = re.compile(r"__file__\)\.resolve\(\)\.parents\[(\d+)\]")


def tracked_files(root: Path) -> list[PurePosixPath]:
    """The repository's files: git's list in a checkout, else the tree minus what git ignores."""
    if (root / ".git").exists():
        listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], check=True,
                                capture_output=True).stdout.decode()
        return [PurePosixPath(name) for name in listed.split("\0") if name]
    return [PurePosixPath(path.relative_to(root).as_posix()) for path in root.rglob("*")
            if path.is_file() and not _UNTRACKED_DIRS & set(path.relative_to(root).parts)
            and path.suffix != ".pyc"]


def outside_references(relative: PurePosixPath, text: str) -> list[str]:
    """`path:line: what` for each reference in `text` (the file at `relative`) that leaves the repository."""
    depth = len(relative.parts) - 1  # folders between the repository root and the file
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{relative}:{number}"
        found += [f"{where}: {what}" for pattern, what in _OUTSIDE if pattern.search(line)]
        # Relative to the file's own folder, more ../ steps than its depth climb out of the repository.
        found += [f"{where}: {steps} climbs above the repository" for steps in _UP.findall(line)
                  if steps.count("../") > depth]
        found += [f"{where}: parents[{n}] of a file {depth} folders deep is outside the repository"
                  for n in _PARENTS.findall(line) if int(n) > depth]
    return found


def test_no_tracked_file_refers_to_a_path_outside_the_repository():
    problems, scanned = [], 0
    for relative in tracked_files(REPO_ROOT):
        path = REPO_ROOT / relative
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        raw = path.read_bytes()
        if b"\0" in raw:
            continue  # binary (screenshots, PDFs)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        scanned += 1
        problems += outside_references(relative, text)
    assert scanned > 100
    assert problems == []


def test_the_scan_sees_each_way_out():
    # (Each sample is put together from pieces, so that this file does not trip its own scan.)
    readme, nested = PurePosixPath("README.md"), PurePosixPath("devtools/lectern_dev/stripe_emulator/store.py")
    parents = "root = Path(__file__)" + ".resolve().parents"
    assert outside_references(readme, "the contract is `" + "../" + "shared/api-contract.md`")
    assert outside_references(nested, "FIXTURES = _REPO_ROOT" + ".parent / " + "'shared'")
    assert outside_references(nested, "FIXTURES = HERE.parent" + " / " + '"shared"')
    assert outside_references(nested, parents + "[4]")
    assert outside_references(PurePosixPath("requirements/dev.txt"), "-r " + "../" * 2 + "elsewhere.txt")
    assert outside_references(PurePosixPath("docs/x.md"), "see [it](" + "../" * 2 + "notes.md)")
    # Inside the repository: fine.
    assert outside_references(nested, parents + "[3]") == []  # the root itself
    assert outside_references(PurePosixPath("requirements/dev.txt"), "-r ../layers/common/requirements.txt") == []
    assert outside_references(PurePosixPath("web/js/pages/claim.js"), 'import { post } from "../api.js";') == []
