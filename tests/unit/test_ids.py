"""lectern.ids: ULIDs from python-ulid, imported without its look-up of its own version."""
import importlib.metadata
import re

from lectern_dev import template as tpl
from support.fresh_interpreter import last_json_line

from lectern import ids

_IMPORT = """
import importlib.metadata, json, sys
looked_up = []
real = importlib.metadata.version
def counting(name):
    looked_up.append(name)
    return real(name)
importlib.metadata.version = counting
from lectern import ids
import ulid
first, second = ids.new_id(), ids.new_id()
print(json.dumps({"looked_up": looked_up, "version": ulid.__version__,
                  "restored": importlib.metadata.version is counting,
                  "ulid_version_function": ulid.version is counting, "ids": [first, second]}))
"""


def test_python_ulid_is_imported_without_looking_up_its_distribution():
    seen = last_json_line(_IMPORT)
    assert seen["looked_up"] == []
    assert seen["version"] == ids.ULID_VERSION
    assert seen["restored"] and seen["ulid_version_function"]  # nothing of the stand-in is left behind
    first, second = seen["ids"]
    assert re.fullmatch(r"[0-9a-hjkmnp-tv-z]{26}", first) and first != second


def test_the_version_given_is_the_one_pinned_and_installed():
    pinned = re.search(r"^python-ulid==(\S+)$", (tpl.REPO_ROOT / "layers/common/requirements-core.txt").read_text(),
                       re.MULTILINE).group(1)
    assert ids.ULID_VERSION == pinned == importlib.metadata.version("python-ulid")


def test_the_stand_in_answers_only_python_ulid_and_asks_the_real_function_for_the_rest():
    asked = []
    version = ids._pinned_for_ulid(lambda distribution_name: asked.append(distribution_name) or "9.9")
    assert version("python-ulid") == ids.ULID_VERSION and asked == []
    assert version(distribution_name="boto3") == "9.9" and asked == ["boto3"]
