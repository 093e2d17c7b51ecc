"""Run a snippet in a fresh interpreter, from the repository, with only the layer's package on its path.

For checks about what an import does (which modules it loads, what it looks up): the test process has
imported half the world already. The snippet prints one JSON line last; that is the answer."""
import json
import subprocess
import sys

from lectern_dev import template as tpl

BASE_ENVIRONMENT = {"PYTHONPATH": "layers/common", "PATH": "/usr/bin:/bin"}


def last_json_line(code: str, *, env: dict[str, str] | None = None, stdin: str | None = None):
    """What `code` printed last, parsed; fails the test, with the interpreter's stderr, if it did not exit 0."""
    result = subprocess.run([sys.executable, "-c", code], cwd=tpl.REPO_ROOT, capture_output=True, text=True,
                            env={**BASE_ENVIRONMENT, **(env or {})}, input=stdin, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
