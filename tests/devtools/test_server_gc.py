"""lectern_dev.server_gc: the long-running dev processes keep their start-up out of later collections."""
import json
import subprocess
import sys

from lectern_dev import template as tpl

_SETTLE = """
import gc, json
from lectern_dev import server_gc
before = gc.get_freeze_count()
server_gc.settle_after_start_up()
print(json.dumps({"before": before, "frozen": gc.get_freeze_count(), "thresholds": gc.get_threshold()}))
"""


def test_settling_freezes_what_start_up_built_and_collects_young_objects_less_often():
    result = subprocess.run([sys.executable, "-c", _SETTLE], cwd=tpl.REPO_ROOT, capture_output=True, text=True,
                            env={"PYTHONPATH": "devtools:layers/common", "PATH": "/usr/bin:/bin"}, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    read = json.loads(result.stdout.strip().splitlines()[-1])
    assert read["before"] == 0 and read["frozen"] > 1000
    assert tuple(read["thresholds"]) == (20_000, 20, 20)


def test_only_the_dev_servers_settle_never_a_function_environment():
    """A function's environment keeps Python's defaults, as Lambda's runtime does."""
    devtools = tpl.REPO_ROOT / "devtools" / "lectern_dev"
    callers = sorted(path.name for path in devtools.glob("*.py")
                     if "settle_after_start_up()" in path.read_text() and path.name != "server_gc.py")
    assert callers == ["embedded_aws.py", "stack.py"]
