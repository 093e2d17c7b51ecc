"""Learner routes: profile, library, orders, the course player and signed playback."""
import json
import time

import jwt
import pytest

from lectern_dev import dev_keys, route_models
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from support.factories import make_course
from lectern import jwt_tokens
from lectern.accounts.users import create_user
from lectern.entitlements import service as entitlements
from lectern.learning import access
from lectern.models.catalog import CatalogItem, Course, CourseLesson, CourseModule, LessonResource, course_pk
from lectern.models.orders import PAID, Order, OrderItem

SIGNING_KEY = "test-only-hs256-signing-key-0123456789abcdefghijklmnopqrstuvwxyz"
KEY_ID = "test-stream-key-id"


@pytest.fixture(scope="module")
def stream_key():
    """A throwaway RSA key standing in for the Cloudflare Stream signing key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(autouse=True)
def keys(monkeypatch, stream_key):
    pem = stream_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()).decode()
    monkeypatch.setenv("AUTH_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("PLAYBACK_SIGNING_KEY_PEM", pem)
    monkeypatch.setenv("PLAYBACK_KEY_ID", KEY_ID)
    monkeypatch.setenv("STREAM_CUSTOMER_CODE", "abc123")


def learner(email="learner@example.com"):
    user = create_user(email, name="Learner", password_hash="not-used-here")
    return user, {"Authorization": f"Bearer {jwt_tokens.mint(user.id).token}"}


def grant(user, course):
    entitlements.grant(user.id, course.id, course.slug, reason="test", actor="test", require_paid_order=False)


def revoke(user, course):
    entitlements.revoke(user.id, course.id, reason="refund", actor="test")


def outline_items(course):
    items = list(CatalogItem.query(course_pk(course.slug)))
    lessons = sorted((i for i in items if isinstance(i, CourseLesson)), key=lambda i: i.slug)
    return lessons, [i for i in items if isinstance(i, LessonResource)]


def paid_lesson(course):
    return next(lesson for lesson in outline_items(course)[0] if not lesson.is_preview and lesson.is_published)


# ------------------------------------------------------------------ /me, /me/courses, /me/orders
def test_me_needs_a_signed_in_user(api):
    user, auth = learner()
    assert api.get("/me", headers=auth)["json"] == {"user": {
        "id": user.id, "name": "Learner", "email": "learner@example.com", "email_verified": False,
        "email_verified_at": None}}
    assert api.get("/me")["statusCode"] == 401


def test_my_courses_lists_active_entitlements_to_published_courses(api):
    user, auth = learner()
    owned, refunded, withdrawn = make_course("owned"), make_course("refunded"), make_course("withdrawn")
    make_course("not-bought")
    for course in (owned, refunded, withdrawn):
        grant(user, course)
    revoke(user, refunded)
    withdrawn.update(actions=[Course.is_published.set(False), Course.gsi1pk.remove(), Course.gsi1sk.remove()])

    response = api.get("/me/courses", headers=auth)
    assert response["statusCode"] == 200
    assert response["headers"]["Cache-Control"] == "no-store"
    [course] = response["json"]["courses"]
    assert course["slug"] == "owned" and course["granted_at"].endswith("Z")
    assert course["price"] == {"amount": 4900, "currency": "usd"} and course["lesson_count"] == 4


def test_my_orders_lists_the_users_orders_with_items_newest_first(api):
    user, auth = learner()
    other, _ = learner("other@example.com")
    for order_id, owner, created in (("o1", user, "2026-01-01T00:00:00Z"), ("o2", user, "2026-02-01T00:00:00Z"),
                                     ("o3", other, "2026-03-01T00:00:00Z")):
        Order(*Order.key(order_id), id=order_id, status=PAID, email=owner.email, user_id=owner.id, currency="usd",
              subtotal_amount=4900, discount_amount=900, total_amount=4000, created_at=created, paid_at=created,
              gsi1pk=f"USER#{owner.id}", gsi1sk=created).save()
        OrderItem(*OrderItem.key(order_id, "c1"), order_id=order_id, course_id="c1", course_slug="intro",
                  course_title="Intro", unit_amount=4900, quantity=1, currency="usd").save()

    orders = api.get("/me/orders", headers=auth)["json"]["orders"]
    assert [o["id"] for o in orders] == ["o2", "o1"]
    assert orders[0] == {
        "id": "o2", "status": "paid", "subtotal_amount": 4900, "discount_amount": 900, "total_amount": 4000,
        "currency": "usd", "created_at": "2026-02-01T00:00:00Z", "paid_at": "2026-02-01T00:00:00Z",
        "refunded_at": None, "refund_reason": None, "gift": None,
        "items": [{"course_id": "c1", "course_slug": "intro", "course_title": "Intro", "unit_amount": 4900,
                   "quantity": 1}]}


# ------------------------------------------------------------------ /learn/{course_slug}
def test_learn_shows_the_outline_with_resources_to_an_entitled_user(api):
    user, auth = learner()
    course = make_course("deep-dive", unpublished_lesson=True)
    grant(user, course)
    response = api.get("/learn/deep-dive", headers=auth)
    assert response["statusCode"] == 200
    detail = response["json"]["course"]
    lessons = [lesson for module in detail["modules"] for lesson in module["lessons"]]
    assert len(lessons) == 4 and "hidden-draft" not in {lesson["slug"] for lesson in lessons}
    assert set(lessons[0]["resources"][0]) == {"id", "name", "mime_type", "size_bytes"}
    text = response["body"]
    assert "stream_video_id" not in text and "storage_key" not in text and "courses/" not in text


def test_learn_without_entitlement_is_403_and_reveals_nothing(api):
    _, auth = learner()
    course = make_course("locked")
    lessons, resources = outline_items(course)
    response = api.get("/learn/locked", headers=auth)
    assert response["statusCode"] == 403
    assert response["json"]["error"]["code"] == "not_entitled"
    for secret in ([lesson.stream_video_id for lesson in lessons] + [lesson.slug for lesson in lessons]
                   + [r.storage_key for r in resources] + ["https://", "modules", "lessons"]):
        assert secret not in response["body"]


def test_learn_unknown_or_unpublished_course_is_404_and_no_token_is_401(api):
    user, auth = learner()
    draft = make_course("draft", published=False)
    grant(user, draft)
    assert api.get("/learn/nope", headers=auth)["statusCode"] == 404
    assert api.get("/learn/draft", headers=auth)["statusCode"] == 404
    assert api.get("/learn/draft")["statusCode"] == 401


# ------------------------------------------------------------------ lessons and playback
def _verify_playback(playback, stream_key, video_id):
    token = playback["token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["kid"] == KEY_ID
    claims = jwt.decode(token, stream_key.public_key(), algorithms=["RS256"])
    assert claims["sub"] == video_id and claims["kid"] == KEY_ID
    assert time.time() < claims["exp"] <= time.time() + 3600 + 5 and claims["nbf"] <= time.time()
    assert playback["video_id"] == video_id and playback["expires_at"].endswith("Z")
    assert playback["hls_url"] == f"https://customer-abc123.cloudflarestream.com/{token}/manifest/video.m3u8"
    assert playback["iframe_url"] == f"https://customer-abc123.cloudflarestream.com/{token}/iframe"


def test_an_entitled_user_gets_a_signed_playback_token(api, stream_key):
    user, auth = learner()
    course = make_course("signed")
    grant(user, course)
    lesson = paid_lesson(course)
    response = api.get(f"/learn/signed/lessons/{lesson.slug}", headers=auth)
    assert response["statusCode"] == 200
    body = response["json"]["lesson"]
    assert {k: body[k] for k in ("id", "slug", "title", "module_id")} == {
        "id": lesson.id, "slug": lesson.slug, "title": lesson.title, "module_id": lesson.module_id}
    assert len(body["resources"]) == 1 and "storage_key" not in response["body"]
    _verify_playback(body["playback"], stream_key, lesson.stream_video_id)


def test_a_preview_lesson_opens_without_signing_in(api, stream_key):
    course = make_course("free-taste")
    preview = next(lesson for lesson in outline_items(course)[0] if lesson.is_preview)
    response = api.get(f"/learn/free-taste/lessons/{preview.slug}")
    assert response["statusCode"] == 200
    _verify_playback(response["json"]["lesson"]["playback"], stream_key, preview.stream_video_id)


def test_a_paid_lesson_needs_a_user_and_an_entitlement(api):
    _, auth = learner()
    course = make_course("paid-only")
    lesson = paid_lesson(course)
    anonymous = api.get(f"/learn/paid-only/lessons/{lesson.slug}")
    assert anonymous["statusCode"] == 401
    denied = api.get(f"/learn/paid-only/lessons/{lesson.slug}", headers=auth)
    assert denied["statusCode"] == 403 and denied["json"]["error"]["code"] == "not_entitled"
    assert lesson.stream_video_id not in denied["body"] and "cloudflarestream" not in denied["body"]


def test_a_lesson_without_video_has_null_playback(api):
    user, auth = learner()
    course = make_course("reading")
    grant(user, course)
    lesson = paid_lesson(course)
    lesson.update(actions=[CourseLesson.stream_video_id.remove()])
    response = api.get(f"/learn/reading/lessons/{lesson.slug}", headers=auth)
    assert response["statusCode"] == 200 and response["json"]["lesson"]["playback"] is None


def test_unpublished_lessons_and_lessons_of_unpublished_modules_are_404(api):
    user, auth = learner()
    course = make_course("partial", unpublished_lesson=True)
    grant(user, course)
    assert api.get("/learn/partial/lessons/hidden-draft", headers=auth)["statusCode"] == 404
    lesson = paid_lesson(course)
    module = CourseModule.get(course_pk("partial"), f"MODULE#{lesson.module_id}")
    module.update(actions=[CourseModule.is_published.set(False)])
    assert api.get(f"/learn/partial/lessons/{lesson.slug}", headers=auth)["statusCode"] == 404
    assert api.get("/learn/partial/lessons/no-such-lesson", headers=auth)["statusCode"] == 404


def test_revoking_denies_the_very_next_request(api):
    user, auth = learner()
    course = make_course("refundable")
    grant(user, course)
    lesson = paid_lesson(course)
    assert api.get(f"/learn/refundable/lessons/{lesson.slug}", headers=auth)["statusCode"] == 200
    assert api.get("/learn/refundable", headers=auth)["statusCode"] == 200
    revoke(user, course)
    assert api.get(f"/learn/refundable/lessons/{lesson.slug}", headers=auth)["statusCode"] == 403
    assert api.get("/learn/refundable", headers=auth)["statusCode"] == 403
    assert api.get("/me/courses", headers=auth)["json"]["courses"] == []


def test_every_access_decision_is_audited(api):
    user, auth = learner()
    course = make_course("audited")
    lesson = paid_lesson(course)
    api.get(f"/learn/audited/lessons/{lesson.slug}", headers=auth)  # denied
    grant(user, course)
    api.get(f"/learn/audited/lessons/{lesson.slug}", headers=auth)  # granted
    api.get("/learn/audited", headers=auth)  # granted
    trail = [(a.action, a.outcome, a.reason, a.target) for a in access.audit_trail(user.id)]
    assert trail == [
        ("learn", "granted", None, "course/audited"),
        ("playback", "granted", None, f"course/audited/lesson/{lesson.slug}"),
        ("playback", "denied", "not_entitled", f"course/audited/lesson/{lesson.slug}"),
    ]


def test_playback_without_a_configured_signing_key_is_503(api, monkeypatch):
    monkeypatch.delenv("PLAYBACK_SIGNING_KEY_PEM")
    monkeypatch.delenv("PLAYBACK_KEY_ID")
    monkeypatch.delenv("PLAYBACK_SECRET_ARN", raising=False)
    course = make_course("no-key")
    preview = next(lesson for lesson in outline_items(course)[0] if lesson.is_preview)
    response = api.get(f"/learn/no-key/lessons/{preview.slug}")
    assert response["statusCode"] == 503 and "PRIVATE KEY" not in response["body"]


def test_the_lesson_function_documents_its_route():
    schema = json.loads(route_models.resolvers()["LessonFunction"].get_openapi_json_schema())
    lesson = schema["paths"]["/learn/{course_slug}/lessons/{lesson_slug}"]["get"]
    assert {"200", "401", "403", "404"} <= set(lesson["responses"])
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "video_id" in schema["components"]["schemas"]["Playback"]["properties"]


def test_an_unreadable_playback_secret_is_503_not_500(api, monkeypatch):
    monkeypatch.delenv("PLAYBACK_SIGNING_KEY_PEM")
    monkeypatch.delenv("PLAYBACK_KEY_ID")
    monkeypatch.setenv("PLAYBACK_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing")
    course = make_course("no-secret")
    preview = next(lesson for lesson in outline_items(course)[0] if lesson.is_preview)
    response = api.get(f"/learn/no-secret/lessons/{preview.slug}")
    assert response["statusCode"] == 503 and response["json"]["error"]["code"] == "service_unavailable"


def test_the_throwaway_key_for_local_stacks_signs_tokens_and_base64_pem_is_accepted(monkeypatch):
    import base64

    from lectern.learning import playback

    environment = dev_keys.throwaway_signing_key_environment()
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert playback.playback("v1").hls_url.endswith("/manifest/video.m3u8")
    # Cloudflare's API hands the PEM out base64-encoded; either form may be stored in the secret.
    monkeypatch.setenv("PLAYBACK_SIGNING_KEY_PEM",
                       base64.b64encode(environment["PLAYBACK_SIGNING_KEY_PEM"].encode()).decode())
    assert jwt.get_unverified_header(playback.playback("v2").token)["kid"] == "local-dev-key"
