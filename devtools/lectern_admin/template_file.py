"""template.yaml, read with SAM's own YAML loader (it knows CloudFormation's short tags): the one
place tables, bucket, functions and routes are declared. The dev tools build on this too."""
from functools import lru_cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


@lru_cache(maxsize=4)
def load(path: str = str(TEMPLATE_PATH)) -> dict[str, Any]:
    from samcli.yamlhelper import yaml_parse

    return yaml_parse(Path(path).read_text())
