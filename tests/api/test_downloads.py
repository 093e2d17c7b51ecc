"""Resource downloads: entitlement, presigned URL, audit, request budget; operator commands."""
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import requests

from support.factories import make_course
from lectern import jwt_tokens
from lectern.accounts.users import create_user
from lectern.clock import iso
from lectern.entitlements import service as entitlements
from lectern.learning import access
from lectern.learning.downloads import content_disposition
from lectern.models.catalog import CatalogItem, Course, CourseLesson, LessonResource, course_pk
from lectern.models.entitlements import EntitlementHistory
from support.request_counter import count_requests

SIGNING_KEY = "test-only-hs256-signing-key-0123456789abcdefghijklmnopqrstuvwxyz"
BUCKET = "assetsbucket"


@pytest.fixture(autouse=True)
def signing_key(monkeypatch):
    monkeypatch.setenv("AUTH_SIGNING_KEY", SIGNING_KEY)


@pytest.fixture
def dynamodb_requests():
    """Counts DynamoDB requests: a `before-call` hook on every botocore client, existing or new
    (tests/support/request_counter.py wraps botocore.session.Session.create_client)."""
    with count_requests() as counter:
        yield counter


@pytest.fixture
def course(aws):
    """A published course whose resources' bytes are in the bucket."""
    course = make_course("downloadable")
    s3 = boto3.client("s3")
    for resource in resources(course):
        s3.put_object(Bucket=BUCKET, Key=resource.storage_key, Body=f"bytes of {resource.name}".encode())
    return course


def resources(course) -> list[LessonResource]:
    items = [i for i in CatalogItem.query(course_pk(course.slug)) if isinstance(i, LessonResource)]
    return sorted(items, key=lambda r: r.name)


def learner(email="learner@example.com"):
    user = create_user(email, password_hash="not-used-here")
    return user, {"Authorization": f"Bearer {jwt_tokens.mint(user.id).token}"}


def grant(user, course):
    entitlements.grant(user.id, course.id, course.slug, reason="test", actor="test", require_paid_order=False)


def download(api, resource_id, auth=None, **headers):
    return api.get(f"/resources/{resource_id}/download", headers={**(auth or {}), **headers})


# ------------------------------------------------------------------ granted
def test_an_entitled_user_is_redirected_to_a_short_lived_presigned_url(api, course):
    user, auth = learner()
    grant(user, course)
    resource = resources(course)[0]
    response = download(api, resource.id, auth)
    assert response["statusCode"] == 302
    assert response["headers"]["Cache-Control"] == "no-store"
    location = response["headers"]["Location"]
    query = parse_qs(urlparse(location).query)
    assert int(query["X-Amz-Expires"][0]) <= 300 and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["response-content-disposition"][0].startswith("attachment; filename=")
    assert query["response-content-type"] == ["text/plain"]

    fetched = requests.get(location, timeout=10)  # moto answers the presigned GET
    assert fetched.status_code == 200 and fetched.content == f"bytes of {resource.name}".encode()


def test_accept_json_answers_the_url_instead_of_redirecting(api, course):
    user, auth = learner()
    grant(user, course)
    response = download(api, resources(course)[0].id, auth, Accept="application/json")
    assert response["statusCode"] == 200
    body = response["json"]
    assert set(body) == {"url", "expires_at"} and body["url"].startswith("https://")
    assert iso() < body["expires_at"]


def test_a_non_ascii_name_downloads_under_its_exact_name(api, course):
    user, auth = learner()
    grant(user, course)
    resource = resources(course)[0]
    resource.update(actions=[LessonResource.name.set('Über "naïve" résumé – 日本.pdf'),
                             LessonResource.mime_type.set("application/pdf")])
    location = download(api, resource.id, auth)["headers"]["Location"]
    disposition = parse_qs(urlparse(location).query)["response-content-disposition"][0]
    assert disposition == ("attachment; filename=\"Uber _naive_ resume .pdf\"; "
                           "filename*=UTF-8''%C3%9Cber%20%22na%C3%AFve%22%20r%C3%A9sum%C3%A9%20%E2%80%93%20"
                           "%E6%97%A5%E6%9C%AC.pdf")
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200


def test_content_disposition_never_breaks_the_header():
    assert content_disposition("notes.txt") == "attachment; filename=\"notes.txt\"; filename*=UTF-8''notes.txt"
    assert content_disposition("日本") == "attachment; filename=\"download\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC"
    assert "\r" not in content_disposition("evil\r\nSet-Cookie: x=1.txt")


# ------------------------------------------------------------------ denied
def test_without_a_token_it_is_401(api, course):
    response = download(api, resources(course)[0].id)
    assert response["statusCode"] == 401 and response["json"]["error"]["code"] == "unauthenticated"


def test_an_unentitled_user_gets_403_with_nothing_to_download(api, course):
    _, auth = learner()
    resource = resources(course)[0]
    response = download(api, resource.id, auth)
    assert response["statusCode"] == 403 and response["json"]["error"]["code"] == "not_entitled"
    assert "Location" not in response["headers"]
    for secret in (resource.storage_key, BUCKET, "https://", "X-Amz"):
        assert secret not in response["body"]


def test_unknown_ids_and_unpublished_resources_lessons_or_courses_are_404(api, course):
    user, auth = learner()
    grant(user, course)
    first, second, third, _ = resources(course)
    assert download(api, "01nosuchresource0000000000", auth)["statusCode"] == 404
    assert download(api, "bad id!", auth)["statusCode"] == 422

    first.update(actions=[LessonResource.is_published.set(False)])
    assert download(api, first.id, auth)["statusCode"] == 404

    lesson = CourseLesson.get(course_pk(course.slug), f"LESSON#{second.lesson_id}")
    lesson.update(actions=[CourseLesson.is_published.set(False)])
    assert download(api, second.id, auth)["statusCode"] == 404

    assert download(api, third.id, auth)["statusCode"] == 302
    Course.get(course_pk(course.slug), "COURSE").update(actions=[Course.is_published.set(False)])
    assert download(api, third.id, auth)["statusCode"] == 404


def test_revoking_denies_the_very_next_download(api, course):
    user, auth = learner()
    grant(user, course)
    resource = resources(course)[0]
    assert download(api, resource.id, auth)["statusCode"] == 302
    entitlements.revoke(user.id, course.id, reason="refund", actor="test")
    assert download(api, resource.id, auth)["statusCode"] == 403
    grant(user, course)  # bought again
    assert download(api, resource.id, auth)["statusCode"] == 302


# ------------------------------------------------------------------ audit and budget
def test_every_attempt_is_audited(api, course):
    user, auth = learner()
    resource = resources(course)[0]
    download(api, resource.id, auth)
    grant(user, course)
    download(api, resource.id, auth)
    download(api, "01nosuchresource0000000000", auth)
    trail = [(a.action, a.outcome, a.reason, a.target) for a in access.audit_trail(user.id)]
    assert trail == [
        ("download", "denied", "not_found", "resource/01nosuchresource0000000000"),
        ("download", "granted", None, f"resource/{resource.id}"),
        ("download", "denied", "not_entitled", f"resource/{resource.id}"),
    ]


def test_a_granted_download_costs_two_dynamodb_requests(api, course, dynamodb_requests):
    user, auth = learner()
    grant(user, course)
    resource = resources(course)[0]
    download(api, resource.id, auth)  # warm: the function's clients exist now
    dynamodb_requests.reset()
    assert download(api, resource.id, auth)["statusCode"] == 302
    assert dynamodb_requests.dynamodb() == ["Query", "TransactWriteItems"]


def test_a_denied_download_costs_three_dynamodb_requests(api, course, dynamodb_requests):
    _, auth = learner()
    resource = resources(course)[0]
    dynamodb_requests.reset()
    assert download(api, resource.id, auth)["statusCode"] == 403
    # The cancelled transaction wrote nothing, so the denial needs its own PutItem (docs/security.md).
    assert dynamodb_requests.dynamodb() == ["Query", "TransactWriteItems", "PutItem"]


# ------------------------------------------------------------------ operator commands
def test_operator_grant_revoke_list_and_audit(api, course, capsys):
    from lectern_admin.__main__ import main

    user, auth = learner("student@example.com")
    resource = resources(course)[0]
    base = ["entitlements"]
    assert main([*base, "grant", "--email", "student@example.com", "--course", course.slug,
                 "--reason", "conference giveaway", "--operator", "ops"]) == 0
    assert download(api, resource.id, auth)["statusCode"] == 302
    assert main([*base, "grant", "--email", "student@example.com", "--course", course.slug,
                 "--reason", "again"]) == 1  # already active: nothing changed
    assert main([*base, "revoke", "--email", "student@example.com", "--course", course.slug,
                 "--reason", "chargeback", "--operator", "ops"]) == 0
    assert download(api, resource.id, auth)["statusCode"] == 403

    history = [(h.action, h.reason, h.actor) for h in EntitlementHistory.query(
        f"USER#{user.id}", EntitlementHistory.sk.startswith("HIST#"))]
    assert sorted(history) == [("grant", "conference giveaway", "operator:ops"),
                               ("revoke", "chargeback", "operator:ops")]

    capsys.readouterr()
    assert main([*base, "list", "--email", "student@example.com"]) == 0
    listing = capsys.readouterr().out
    assert "revoked" in listing and course.slug in listing and "chargeback" in listing

    assert main([*base, "audit", "--email", "student@example.com"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert ["denied" in lines[0], "granted" in lines[1]] == [True, True]  # newest first
    assert f"resource/{resource.id}" in lines[0]

    assert main([*base, "list", "--email", "nobody@example.com"]) == 2
    assert main([*base, "grant", "--email", "student@example.com", "--course", "no-such-course",
                 "--reason", "x"]) == 2
