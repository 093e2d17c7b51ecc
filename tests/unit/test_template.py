"""template.yaml is the source of truth: check what depends on it agrees with it."""
import json
import os
import subprocess
import sys

from lectern.api.routes import ROUTES
from lectern_dev import template as tpl


def test_route_table_matches_the_template():
    declared: dict[str, set[str]] = {}
    for spec in tpl.functions().values():
        for method, path in spec.http_routes:
            if path != "$default":
                declared.setdefault(path, set()).add(method)
    assert {path: set(methods) for path, methods in ROUTES.items()} == declared


def test_exactly_one_default_route_and_it_answers_with_the_envelope():
    defaults = [(spec.logical_id, method) for spec in tpl.functions().values()
                for method, path in spec.http_routes if path == "$default"]
    assert defaults == [("CatalogFunction", "ANY")]


def test_every_function_has_a_sample_event_for_sam_local_invoke():
    events = sorted(p.name for p in (tpl.REPO_ROOT / "events").glob("*.json"))
    for spec in tpl.functions().values():
        folder = spec.code_dir.name
        assert any(name.startswith(folder) for name in events), f"no events/{folder}*.json for {spec.logical_id}"
    scheduled = {spec.code_dir.name for spec in tpl.functions().values() if spec.schedules and not spec.http_routes}
    for name in events:
        event = json.loads((tpl.REPO_ROOT / "events" / name).read_text())
        is_sns = [record.get("EventSource") for record in event.get("Records", [])] == ["aws:sns"]
        if any(name.startswith(folder) for folder in scheduled):
            assert event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event", name
        else:
            assert (event.get("version") == "2.0" and "requestContext" in event) or is_sns, name


def test_every_table_variable_a_function_reads_names_a_template_table():
    tables = set(tpl.resources_of_type(tpl.load(), "AWS::DynamoDB::Table"))
    for spec in tpl.functions().values():
        for key, value in spec.environment.items():
            if key.endswith("_TABLE"):
                assert value in tables, (spec.logical_id, key, value)


def test_tables_keep_data_when_the_stack_goes():
    for name, resource in tpl.resources_of_type(tpl.load(), "AWS::DynamoDB::Table").items():
        assert resource.get("DeletionPolicy") == "Retain", name
        assert resource["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], name


def test_openapi_document_is_generated_from_the_code():
    result = subprocess.run([sys.executable, "-m", "lectern_dev.openapi", "--check"], cwd=tpl.REPO_ROOT,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": "layers/common:devtools"})
    assert result.returncode == 0, result.stderr


def test_every_sample_event_fits_its_function():
    """What `sam local invoke` needs: payload 2.0 for one of the function's HTTP API routes, a
    function URL event for the webhook, a scheduled event for the mail retry, or an SNS notification
    for the email feedback function (the smoke invokes the built functions with them)."""
    from lectern_dev.smoke import check_sample, invoked_by_sns, samples_for

    resources = tpl.load()["Resources"]
    for spec in tpl.functions().values():
        for sample in samples_for(spec.code_dir.name):
            problems = check_sample(json.loads(sample.read_text()), routes=spec.http_routes,
                                    function_url=spec.has_function_url, scheduled=bool(spec.schedules),
                                    sns=invoked_by_sns(resources[spec.logical_id]))
            assert problems == [], (sample.name, spec.logical_id, problems)


def test_every_layer_is_built_by_a_makefile_target_of_its_folder():
    for name, layer in tpl.resources_of_type(tpl.load(), "AWS::Serverless::LayerVersion").items():
        assert layer["Metadata"]["BuildMethod"] == "makefile", name
        makefile = (tpl.REPO_ROOT / layer["Properties"]["ContentUri"] / "Makefile").read_text()
        assert f"\nbuild-{name}:" in makefile, name


def test_the_smoke_variant_differs_from_the_template_only_in_architecture(tmp_path):
    from lectern_dev.smoke import host_template

    variant = json.loads(host_template("x86_64", tmp_path / "template.yaml").read_text())
    assert "arm64" not in json.dumps(variant)
    original = tpl.load()
    assert variant["Globals"]["Function"]["Architectures"] == ["x86_64"]
    assert set(variant["Resources"]) == set(original["Resources"])
    for name, resource in variant["Resources"].items():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                source = original["Resources"][name]["Properties"][key]
                # A layer's folder is copied beside the variant: its Makefile reads the architecture from the
                # template two folders up (layers/common/Makefile), so the copy must sit under the variant.
                base = tmp_path if key == "ContentUri" else tpl.REPO_ROOT
                assert resource["Properties"][key] == str((base / source).resolve())
                if key == "ContentUri":
                    assert (base / source / "Makefile").read_text() == (tpl.REPO_ROOT / source / "Makefile").read_text()
