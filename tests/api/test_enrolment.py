"""POST /courses/{slug}/enroll: a free course into the signed-in user's library (LearnerFunction on moto),
and the entitlement sources (`order`, `free`, `gift`, `operator`; a legacy "purchase" reads as `order`)."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.factories import make_course
from lectern import jwt_tokens
from lectern.accounts.users import create_user
from lectern.entitlements import service as entitlements
from lectern.models.entitlements import ACTIVE, Entitlement, EntitlementHistory
from support.request_counter import count_requests

SIGNING_KEY = "test-only-hs256-signing-key-enrolment-" + "e" * 30


@pytest.fixture(autouse=True)
def auth_key(monkeypatch):
    monkeypatch.setenv("AUTH_SIGNING_KEY", SIGNING_KEY)


def signed_in(email: str = "learner@example.com"):
    user = create_user(email, password_hash="argon2-hash")
    return user, {"authorization": f"Bearer {jwt_tokens.mint(user.id).token}"}


def enroll(api, slug: str, headers: dict | None = None) -> dict:
    return api.post(f"/courses/{slug}/enroll", headers=headers or {})


def entitlement_items(user_id: str) -> list[Entitlement]:
    return list(Entitlement.query(f"USER#{user_id}", Entitlement.sk.startswith("ENT#"), consistent_read=True))


def test_enrolling_in_a_free_course_is_201_then_200_with_the_same_shape(api):
    course = make_course("free-course", price=None)
    user, headers = signed_in()

    with count_requests() as counter:
        first = enroll(api, course.slug, headers)
    assert first["statusCode"] == 201 and first["headers"]["Cache-Control"] == "no-store"
    assert set(first["json"]) == {"course_slug", "enrolled_at"}
    assert first["json"]["course_slug"] == "free-course" and first["json"]["enrolled_at"].endswith("Z")
    # #25: the course (GetItem) and the grant (one transaction).
    assert counter.by_operation() == {"GetItem": 1, "TransactWriteItems": 1}

    [entitlement] = entitlement_items(user.id)
    assert (entitlement.source, entitlement.status, entitlement.order_id) == ("free", ACTIVE, None)
    assert entitlement.course_id == course.id and entitlement.granted_at == first["json"]["enrolled_at"]

    with count_requests() as counter:
        again = enroll(api, course.slug, headers)
    assert again["statusCode"] == 200 and again["json"] == first["json"]
    assert counter.by_operation() == {"GetItem": 2, "TransactWriteItems": 1}  # the cancelled grant reads it back
    assert len(entitlement_items(user.id)) == 1

    library = api.get("/me/courses", headers=headers)["json"]["courses"]
    assert [c["slug"] for c in library] == ["free-course"]
    assert api.get("/learn/free-course", headers=headers)["statusCode"] == 200


def test_enrolling_needs_a_signed_in_user(api):
    make_course("free-course", price=None)
    for headers in ({}, {"authorization": "Bearer not-a-token"}):
        response = enroll(api, "free-course", headers)
        assert response["statusCode"] == 401, headers
        assert response["json"]["error"]["code"] == "unauthenticated"
        assert response["headers"]["WWW-Authenticate"].startswith("Bearer")
    assert list(Entitlement.scan()) == []


def test_unknown_and_unpublished_courses_are_404(api):
    make_course("draft-free", price=None, published=False)
    _, headers = signed_in()
    for slug in ("no-such-course", "draft-free", "Not-A-Slug"):
        response = enroll(api, slug, headers)
        assert response["statusCode"] == 404, slug
        assert response["json"]["error"]["code"] == "not_found"
    assert list(Entitlement.scan()) == []


def test_a_priced_course_is_409_not_free(api):
    make_course("priced-course", price=4900)
    _, headers = signed_in()
    response = enroll(api, "priced-course", headers)
    assert response["statusCode"] == 409
    assert response["json"]["error"]["code"] == "not_free"
    assert "POST /checkout" in response["json"]["error"]["message"]
    assert list(Entitlement.scan()) == []


def test_a_course_already_held_through_an_order_is_200_and_keeps_its_source(api):
    """A course that was priced when the user bought it, and is free now."""
    course = make_course("was-priced", price=None)
    user, headers = signed_in()
    entitlements.grant(user.id, course.id, course.slug, reason="purchase", actor="test", order_id="01ORDER",
                       require_paid_order=False)
    response = enroll(api, course.slug, headers)
    assert response["statusCode"] == 200
    [entitlement] = entitlement_items(user.id)
    assert (entitlement.source, entitlement.order_id) == ("order", "01ORDER")


def test_twenty_concurrent_enrolments_make_one_active_entitlement(api, atomic_aws_requests):  # noqa: F811
    course = make_course("free-course", price=None)
    user, headers = signed_in()
    threads = 20
    barrier = threading.Barrier(threads)

    def one(_):
        barrier.wait(timeout=30)
        return enroll(api, course.slug, headers)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        answers = list(pool.map(one, range(threads), timeout=60))
    statuses = sorted(a["statusCode"] for a in answers)
    assert statuses == [200] * (threads - 1) + [201]
    assert len({a["json"]["enrolled_at"] for a in answers}) == 1
    [entitlement] = entitlement_items(user.id)
    assert entitlement.status == ACTIVE and entitlement.source == "free"
    history = list(EntitlementHistory.query(f"USER#{user.id}", EntitlementHistory.sk.startswith("HIST#")))
    assert [h.action for h in history] == ["grant"]


# ------------------------------------------------------------------ sources

def test_a_legacy_purchase_source_is_read_as_order(aws):
    """Items written before the sources were named say "purchase"; every reader sees `order`."""
    user = create_user("old@example.com")
    pk, sk = Entitlement.key(user.id, "01COURSE")
    Entitlement._get_connection().put_item(pk, sk, attributes={
        "id": {"S": "01ENT"}, "user_id": {"S": user.id}, "course_id": {"S": "01COURSE"},
        "course_slug": {"S": "old-course"}, "order_id": {"S": "01ORDER"}, "source": {"S": "purchase"},
        "status": {"S": ACTIVE}, "granted_at": {"S": "2025-01-01T00:00:00Z"}})
    assert entitlements.get(user.id, "01COURSE").source == "order"
    assert [e.source for e in entitlements.active_for_user(user.id)] == ["order"]
    # Written back (a revoke updates the item), it stays readable, and what is stored is not rewritten.
    entitlements.revoke(user.id, "01COURSE", reason="test", actor="test")
    assert entitlements.get(user.id, "01COURSE").source == "order"


def test_new_writes_use_the_new_sources(aws):
    user = create_user("new@example.com")
    cases = {"c1": {"order_id": "01ORDER"}, "c2": {"order_id": "01GIFT", "source": "gift"},
             "c3": {"source": "free"}, "c4": {}}
    for course_id, extra in cases.items():
        entitlements.grant(user.id, course_id, course_id, reason="test", actor="test", require_paid_order=False,
                           **extra)
    raw = {item["sk"]["S"]: item["source"]["S"] for item in
           Entitlement._get_connection().query(f"USER#{user.id}")["Items"] if item["sk"]["S"].startswith("ENT#")}
    assert raw == {"ENT#c1": "order", "ENT#c2": "gift", "ENT#c3": "free", "ENT#c4": "operator"}
    with pytest.raises(ValueError):
        entitlements.grant(user.id, "c5", "c5", reason="test", actor="test", source="gift")  # a gift needs its order
    with pytest.raises(ValueError):
        entitlements.grant(user.id, "c6", "c6", reason="test", actor="test", source="purchase")
