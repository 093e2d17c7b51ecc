"""Public catalog routes: shapes, ordering, pagination, and every kind of bad input."""
import base64
import json

import pytest

from support.factories import make_course
from support.request_counter import count_requests


@pytest.fixture
def catalog(api):
    courses = [make_course(f"course-{n}", published_at=f"2026-0{n + 1}-01T00:00:00Z") for n in range(3)]
    make_course("secret-draft", published=False)
    make_course("with-hidden-lesson", published_at="2025-06-01T00:00:00Z", unpublished_lesson=True)
    return courses


def test_list_returns_only_published_newest_first(api, catalog):
    response = api.get("/courses")
    assert response["statusCode"] == 200
    slugs = [c["slug"] for c in response["json"]["courses"]]
    assert slugs == ["course-2", "course-1", "course-0", "with-hidden-lesson"]
    assert response["json"]["next_cursor"] is None
    first = response["json"]["courses"][0]
    assert set(first) == {"id", "slug", "title", "description", "thumbnail_url", "price", "module_count",
                          "lesson_count"}
    assert first["price"] == {"amount": 4900, "currency": "usd"}
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
    assert response["headers"]["Cache-Control"].startswith("public")
    assert response["headers"]["X-Request-Id"]


def test_cursor_pagination_walks_every_course_once(api, catalog):
    seen, cursor = [], None
    for _ in range(10):
        query = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = api.get("/courses", query=query)["json"]
        seen += [c["slug"] for c in page["courses"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["course-2", "course-1", "course-0", "with-hidden-lesson"]


def test_detail_has_outline_in_order_without_private_fields(api, catalog):
    response = api.get("/courses/with-hidden-lesson")
    assert response["statusCode"] == 200
    course = response["json"]["course"]
    assert [m["sort_order"] for m in course["modules"]] == [0, 1]
    lessons = [lesson for m in course["modules"] for lesson in m["lessons"]]
    assert "hidden-draft" not in [lesson["slug"] for lesson in lessons]
    assert lessons[0]["is_preview"] is True and lessons[0]["resource_count"] == 1
    body = response["body"]
    assert "stream_video_id" not in body and "storage_key" not in body and "video_id" not in body


@pytest.mark.parametrize("path", ["/courses/secret-draft", "/courses/no-such-course", "/courses/BAD_SLUG!"])
def test_unknown_or_unpublished_course_is_404(api, catalog, path):
    response = api.get(path)
    assert response["statusCode"] == 404
    assert response["json"]["error"]["code"] == "not_found"


@pytest.mark.parametrize("limit", ["0", "51", "-3", "ten", "1.5", ""])
def test_bad_limit_is_422_with_field_details(api, catalog, limit):
    response = api.get("/courses", query={"limit": limit})
    assert response["statusCode"] == 422
    assert response["json"]["error"]["code"] == "validation_failed"
    assert "limit" in response["json"]["error"]["details"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "%%%", "not-base64!", _b64(b"not json"), _b64(b"[]"), _b64(json.dumps({"k": "x", "s": "y"}).encode()),
    _b64(json.dumps({"k": "2026-01-01T00:00:00Z#" + "a" * 26, "s": "ok", "extra": 1}).encode()),
    _b64(json.dumps({"k": "2026-01-01T00:00:00Z#" + "a" * 26, "s": "Bad Slug"}).encode()),
    _b64(json.dumps({"k": {"S": "x"}, "s": "ok"}).encode()), "x" * 600,
])
def test_forged_or_malformed_cursor_is_422(api, catalog, cursor):
    response = api.get("/courses", query={"cursor": cursor})
    assert response["statusCode"] == 422, response["body"]
    assert "cursor" in response["json"]["error"]["details"]


def test_well_formed_cursor_for_unknown_position_is_harmless(api, catalog):
    cursor = _b64(json.dumps({"k": "2026-02-15T00:00:00Z#" + "0" * 26, "s": "never-existed"}).encode())
    response = api.get("/courses", query={"cursor": cursor})
    assert response["statusCode"] == 200
    assert [c["slug"] for c in response["json"]["courses"]] == ["course-1", "course-0", "with-hidden-lesson"]


@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/nope", 404, "not_found"),
    ("DELETE", "/courses", 405, "method_not_allowed"),
    ("POST", "/courses/course-0", 405, "method_not_allowed"),
    ("GET", "/courses/course-0/extra", 404, "not_found"),
])
def test_unknown_route_and_wrong_method_get_the_envelope(api, catalog, method, path, status, code):
    response = api.request(method, path)
    assert response["statusCode"] == status
    assert response["json"] == {"error": {"code": code, "message": response["json"]["error"]["message"]}}
    if status == 405:
        assert response["headers"]["Allow"]


def test_course_detail_is_one_request_and_list_is_one_query(api, catalog):
    with count_requests() as counter:
        assert api.get("/courses/course-1")["statusCode"] == 200
    assert counter.dynamodb() == ["Query"]
    with count_requests() as counter:
        assert api.get("/courses", query={"limit": "2"})["statusCode"] == 200
    assert counter.dynamodb() == ["Query"]
    with count_requests() as counter:
        api.get("/courses/no-such-course")
        api.get("/courses", query={"cursor": _b64(b"junk")})
    assert "Scan" not in counter.dynamodb()


def test_dynamodb_failure_is_a_503_envelope_not_a_500(api, catalog, monkeypatch):
    from botocore.exceptions import ClientError

    from lectern.models.catalog import CatalogItem

    def throttled(*_args, **_kwargs):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                          "Query")

    monkeypatch.setattr(CatalogItem, "query", throttled)
    response = api.get("/courses/course-1")
    assert response["statusCode"] == 503
    assert response["json"]["error"]["code"] == "service_unavailable"
