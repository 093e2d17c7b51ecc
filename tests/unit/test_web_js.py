"""The storefront's JavaScript units that need no browser, under Node's own test runner
(`tests/unit/web/*.test.mjs`); the browser tests (tests/browser/) drive the same code in Chromium."""
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("test_file", sorted(p.name for p in (REPO_ROOT / "tests" / "unit" / "web").glob("*.test.mjs")))
def test_node_unit_tests(test_file):
    done = subprocess.run(["node", "--test", f"tests/unit/web/{test_file}"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
