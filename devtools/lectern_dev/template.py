"""Reading template.yaml: the one place tables, bucket, functions and routes are declared.

The local stack and the tests build everything from here, so they cannot
drift from the deployment.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lectern_admin.template_file import REPO_ROOT, TEMPLATE_PATH, load  # noqa: F401  (re-exported)


def resources_of_type(template: dict[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] in types}


def local_physical_name(logical_id: str, resource_type: str) -> str:
    """Locally a table is named by its logical id; a bucket by its lower-cased logical id."""
    return logical_id.lower() if resource_type == "AWS::S3::Bucket" else logical_id


def table_create_kwargs(properties: dict[str, Any], table_name: str) -> dict[str, Any]:
    """CloudFormation table properties → DynamoDB CreateTable arguments."""
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if properties.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    if properties.get("LocalSecondaryIndexes"):
        kwargs["LocalSecondaryIndexes"] = properties["LocalSecondaryIndexes"]
    if kwargs["BillingMode"] == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = properties["ProvisionedThroughput"]
    return kwargs


@dataclass
class FunctionSpec:
    logical_id: str
    code_dir: Path
    module: str
    handler: str
    environment: dict[str, str] = field(default_factory=dict)
    http_routes: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    has_function_url: bool = False
    timeout_seconds: int = 3
    memory_mb: int = 128
    schedules: list[str] = field(default_factory=list)  # EventBridge schedule expressions, e.g. rate(5 minutes)


def _resolve(value: Any, template: dict[str, Any], overrides: dict[str, str]) -> str | None:
    """Resolve the intrinsics our environment variables use (!Ref, !GetAtt .Arn on secrets, plain values)."""
    if isinstance(value, (str, int, float, bool)):
        return str(value)
    if isinstance(value, dict) and "Ref" in value:
        ref = value["Ref"]
        if ref in overrides:
            return overrides[ref]
        if ref in template.get("Parameters", {}):
            return str(template["Parameters"][ref].get("Default", ""))
        resource = template["Resources"].get(ref)
        if resource:
            return local_physical_name(ref, resource["Type"])
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):  # names built from pseudo parameters
        pseudo = {"AWS::StackName": "lectern-local", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
                  "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
        text = value["Fn::Sub"]
        for name, replacement in pseudo.items():
            text = text.replace("${" + name + "}", replacement)
        return None if "${" in text else text
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        name = target[0] if isinstance(target, list) else target.split(".")[0]
        return name
    return None


def functions(template: dict[str, Any] | None = None, overrides: dict[str, str] | None = None) -> dict[str, FunctionSpec]:
    """Every AWS::Serverless::Function with its code folder, handler, resolved environment and routes."""
    template = template or load()
    overrides = overrides or {}
    function_globals = template.get("Globals", {}).get("Function", {})
    globals_env = function_globals.get("Environment", {}).get("Variables", {})
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        props = resource["Properties"]
        module, handler = props["Handler"].rsplit(".", 1)
        env_vars = {**globals_env, **props.get("Environment", {}).get("Variables", {})}
        environment = {k: v for k, v in ((k, _resolve(v, template, overrides)) for k, v in env_vars.items())
                       if v is not None}
        spec = FunctionSpec(logical_id, REPO_ROOT / props["CodeUri"], module, handler, environment,
                            has_function_url="FunctionUrlConfig" in props,
                            timeout_seconds=int(props.get("Timeout", function_globals.get("Timeout", 3))),
                            memory_mb=int(props.get("MemorySize", function_globals.get("MemorySize", 128))))
        for event in props.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                spec.http_routes.append((event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
            elif event["Type"] == "Schedule":
                spec.schedules.append(event["Properties"]["Schedule"])
        specs[logical_id] = spec
    return specs
