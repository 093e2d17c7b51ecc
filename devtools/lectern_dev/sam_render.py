"""template.yaml as CloudFormation receives it: SAM's own translator (samtranslator), offline.

`sam deploy` sends the transformed template; this renders the same thing without an AWS
account (the managed-policy loader, which would ask IAM, is a stub: the template names no
managed policy), so tests can assert on roles, permissions, stages and outputs as deployed.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from lectern_dev import template as tpl


class _NoManagedPolicies:
    """SAM asks IAM for managed policy ARNs only for policies named in a function's Policies; none are."""

    def load(self) -> dict[str, str]:
        return {}


def render(template: dict[str, Any] | None = None, parameters: dict[str, str] | None = None,
           region: str = "us-east-1") -> dict[str, Any]:
    """The CloudFormation template SAM makes of `template` (default: template.yaml), as
    samtranslator.translator.transform.transform does, for `region` (no credentials needed)."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    source = copy.deepcopy(template if template is not None else tpl.load())
    # What `sam deploy` does first (sam package): local code folders become uploaded S3 objects.
    for resource in source["Resources"].values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://sam-package/{properties[key].strip('/')}.zip"
    values = dict(parameters or {})
    to_py27_compatible_template(source, values)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    policies = _NoManagedPolicies()
    rendered_template = translator.translate(source, parameter_values=values,
                                             get_managed_policy_map=policies.load)
    return undo_mark_unicode_str_in_template(rendered_template)


@lru_cache(maxsize=1)
def rendered() -> dict[str, Any]:
    """template.yaml, rendered once per process (treat as read-only)."""
    return render()
