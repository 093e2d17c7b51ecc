"""`make dev` for real: the stack process, over HTTP on loopback."""
import json
import subprocess
import sys

import pytest
import requests
import yaml

from support.stack_process import REPO_ROOT, StackProcess

pytestmark = pytest.mark.stack


def demo_published_slugs() -> set[str]:
    document = yaml.safe_load((REPO_ROOT / "catalog" / "demo.yaml").read_text())
    return {course["slug"] for course in document["courses"] if course.get("published")}


def test_course_list_is_exactly_the_demo_published_courses(local_stack):
    api = local_stack.urls["api"]
    response = requests.get(f"{api}/courses", timeout=10)
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert {c["slug"] for c in response.json()["courses"]} == demo_published_slugs()
    slug = response.json()["courses"][0]["slug"]
    detail = requests.get(f"{api}/courses/{slug}", timeout=10)
    assert detail.status_code == 200 and detail.json()["course"]["modules"]


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/nope", 404), ("DELETE", "/courses", 405), ("GET", "/courses?limit=0", 422),
    ("GET", "/courses?cursor=forged", 422), ("GET", "/courses/not-a-course", 404),
])
def test_errors_over_http_have_the_envelope(local_stack, method, path, status):
    response = requests.request(method, local_stack.urls["api"] + path, timeout=10)
    assert response.status_code == status
    assert set(response.json()) == {"error"} and response.json()["error"]["code"]


def test_dev_pages_serve_mailbox_and_openapi(local_stack):
    dev = local_stack.urls["docs"].rsplit("/docs", 1)[0]
    assert requests.get(f"{dev}/mailbox", timeout=10).status_code == 200
    assert requests.get(f"{dev}/openapi.json", timeout=10).json()["paths"]["/courses"]
    assert "swagger-ui" in requests.get(f"{dev}/docs", timeout=10).text


def test_stack_stops_cleanly_on_sigterm(tmp_path):
    stack = StackProcess(tmp_path).start()
    assert requests.get(stack.urls["api"] + "/courses", timeout=10).status_code == 200
    assert stack.stop() == 0
    assert "Stopped." in stack.log_file.read_text()


def test_make_invoke_prints_the_function_response(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "lectern_dev.invoke", "CatalogFunction", "events/catalog_list_courses.json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env=StackProcess(tmp_path).env)  # its LECTERN_AWS_PORT is free: invoke embeds its own AWS
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout.strip().splitlines()[-1])
    assert response["statusCode"] == 200
    assert len(json.loads(response["body"])["courses"]) == 2  # the sample asks for limit=2



def test_every_request_gets_its_own_request_id_api_and_webhook(local_stack):
    api_ids = {requests.get(local_stack.urls["api"] + "/courses", timeout=10).headers["X-Request-Id"] for _ in range(3)}
    hook_ids = {requests.post(local_stack.urls["webhook"], data=b"{}", timeout=10).headers["X-Request-Id"]
                for _ in range(3)}
    assert len(api_ids) == 3 and len(hook_ids) == 3
