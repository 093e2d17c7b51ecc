"""Lesson progress (issue 14, item 1): PUT .../progress on the ProgressFunction, and what it adds to
GET /learn/{course_slug} and GET /me/courses on the LearnerFunction. Handlers in process, on moto."""
import pytest
from lectern.entitlements import service as entitlements
from lectern.models.catalog import CourseLesson
from lectern.models.entitlements import LessonProgress
from support.factories import make_course
from support.learning_support import grant, learner, lessons_of, put
from support.request_counter import count_requests

SIGNING_KEY = "test-only-hs256-signing-key-0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    monkeypatch.setenv("AUTH_SIGNING_KEY", SIGNING_KEY)
    from lectern_dev import dev_keys

    for name, value in dev_keys.throwaway_signing_key_environment().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def setup(api):
    user, auth = learner()
    course = make_course("progress-course", unpublished_lesson=True)
    grant(user, course)
    return user, auth, course, lessons_of(course)


def test_a_heartbeat_records_the_position_and_answers_the_lessons_progress(api, setup):
    _, auth, course, lessons = setup
    response = put(api, course, lessons[1], {"position_seconds": 42}, auth)
    assert response["statusCode"] == 200 and response["headers"]["Cache-Control"] == "no-store"
    progress = response["json"]["progress"]
    assert set(progress) == {"lesson_slug", "position_seconds", "completed_at", "updated_at"}
    assert (progress["lesson_slug"], progress["position_seconds"], progress["completed_at"]) == (
        lessons[1].slug, 42, None)
    assert progress["updated_at"].endswith("Z")
    # Heartbeats keep the latest position (resume), in either direction.
    put(api, course, lessons[1], {"position_seconds": 300}, auth)
    again = put(api, course, lessons[1], {"position_seconds": 120}, auth)["json"]["progress"]
    assert again["position_seconds"] == 120 and again["completed_at"] is None


def test_reaching_90_percent_completes_and_a_smaller_position_never_uncompletes(api, setup):
    _, auth, course, lessons = setup
    lesson = lessons[1]
    assert put(api, course, lesson, {"position_seconds": 539}, auth)["json"]["progress"]["completed_at"] is None
    done = put(api, course, lesson, {"position_seconds": 540}, auth)["json"]["progress"]  # 90 % of 600
    assert done["completed_at"] and done["completed_at"].endswith("Z")
    for body in ({"position_seconds": 10}, {"position_seconds": 0, "completed": False}, {"position_seconds": 600}):
        later = put(api, course, lesson, body, auth)["json"]["progress"]
        assert later["completed_at"] == done["completed_at"] and later["position_seconds"] == body["position_seconds"]


def test_completed_true_completes_a_lesson_without_a_known_duration(api, setup):
    _, auth, course, lessons = setup
    lesson = lessons[2]
    lesson.update(actions=[CourseLesson.duration_seconds.remove()])
    assert put(api, course, lesson, {"position_seconds": 99999}, auth)["json"]["progress"]["completed_at"] is None
    assert put(api, course, lesson, {"position_seconds": 5, "completed": True}, auth)["json"]["progress"][
        "completed_at"]


def test_without_a_token_401_without_an_entitlement_403(api, setup):
    _, _, course, lessons = setup
    anonymous = put(api, course, lessons[1], {"position_seconds": 1}, {})
    assert anonymous["statusCode"] == 401 and anonymous["json"]["error"]["code"] == "unauthenticated"
    stranger, stranger_auth = learner("stranger@example.com")
    denied = put(api, course, lessons[1], {"position_seconds": 1}, stranger_auth)
    assert denied["statusCode"] == 403 and denied["json"]["error"]["code"] == "not_entitled"
    assert list(LessonProgress.query(f"USER#{stranger.id}")) == []


def test_a_revoked_entitlement_is_403_on_the_very_next_heartbeat(api, setup):
    user, auth, course, lessons = setup
    assert put(api, course, lessons[1], {"position_seconds": 1}, auth)["statusCode"] == 200
    entitlements.revoke(user.id, course.id, reason="refund", actor="test")
    assert put(api, course, lessons[1], {"position_seconds": 2}, auth)["statusCode"] == 403


def test_unknown_or_hidden_lessons_and_courses_are_404(api, setup):
    _, auth, course, lessons = setup
    for path in (f"/learn/{course.slug}/lessons/hidden-draft/progress",
                 f"/learn/{course.slug}/lessons/no-such-lesson/progress",
                 f"/learn/no-such-course/lessons/{lessons[0].slug}/progress"):
        response = api.request("PUT", path, body={"position_seconds": 1}, headers=auth)
        assert response["statusCode"] == 404 and response["json"]["error"]["code"] == "not_found", path


@pytest.mark.parametrize("body", [
    {"position_seconds": -1}, {"position_seconds": "12"}, {"position_seconds": 12.5}, {"position_seconds": True},
    {"position_seconds": None}, {}, {"position_seconds": 1, "completed": "yes"}, {"position_seconds": 1, "completed": 1},
    {"position_seconds": 10 ** 9},
])
def test_a_bad_body_is_422_in_the_envelope(api, setup, body):
    _, auth, course, lessons = setup
    response = put(api, course, lessons[1], body, auth)
    assert response["statusCode"] == 422, response["body"]
    error = response["json"]["error"]
    assert error["code"] == "validation_failed"
    assert set(error["details"]) <= {"position_seconds", "completed"} and error["details"]


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"text"'])
def test_a_body_that_is_not_a_json_object_is_400(api, setup, raw):
    _, auth, course, lessons = setup
    response = put(api, course, lessons[1], raw, {**auth, "Content-Type": "application/json"})
    assert response["statusCode"] == 400 and response["json"]["error"]["code"] == "bad_request"


def test_a_heartbeat_costs_three_requests_and_exactly_one_write(api, setup):
    """The floor (docs/data-model.md #25a): outline Query, entitlement GetItem, ONE UpdateItem."""
    _, auth, course, lessons = setup
    put(api, course, lessons[1], {"position_seconds": 1}, auth)  # warm: the function is loaded
    with count_requests() as counter:
        assert put(api, course, lessons[1], {"position_seconds": 30}, auth)["statusCode"] == 200
    assert counter.dynamodb() == ["Query", "GetItem", "UpdateItem"]
    with count_requests() as counter:  # completing a lesson (not the last): + the course's progress Query
        assert put(api, course, lessons[1], {"position_seconds": 600}, auth)["statusCode"] == 200
    assert counter.dynamodb() == ["Query", "GetItem", "UpdateItem", "Query"]
    with count_requests() as counter:  # already completed: back to the floor
        assert put(api, course, lessons[1], {"position_seconds": 600}, auth)["statusCode"] == 200
    assert counter.dynamodb() == ["Query", "GetItem", "UpdateItem"]


# ------------------------------------------------------------------ GET /learn/{course_slug}, GET /me/courses

def test_the_course_player_shows_each_lessons_progress_the_courses_and_the_next_lesson(api, setup):
    _, auth, course, lessons = setup
    first_view = api.get(f"/learn/{course.slug}", headers=auth)["json"]["course"]
    assert first_view["progress"] == {"completed_lessons": 0, "total_lessons": 4, "percent": 0}
    assert first_view["next_lesson"] == {"slug": lessons[0].slug, "title": lessons[0].title,
                                         "module_id": lessons[0].module_id}
    put(api, course, lessons[0], {"position_seconds": 0, "completed": True}, auth)
    put(api, course, lessons[2], {"position_seconds": 75}, auth)
    with count_requests() as counter:
        detail = api.get(f"/learn/{course.slug}", headers=auth)["json"]["course"]
    assert counter.dynamodb() == ["Query", "TransactWriteItems", "Query"]
    flat = {lesson["slug"]: lesson for module in detail["modules"] for lesson in module["lessons"]}
    assert flat[lessons[0].slug]["progress"]["completed_at"] and flat[lessons[1].slug]["progress"] is None
    assert flat[lessons[2].slug]["progress"]["position_seconds"] == 75
    assert all(lesson["duration_seconds"] == 600 for lesson in flat.values())
    assert detail["progress"] == {"completed_lessons": 1, "total_lessons": 4, "percent": 25}
    assert detail["next_lesson"]["slug"] == lessons[1].slug
    for lesson in lessons[1:]:
        put(api, course, lesson, {"position_seconds": 600}, auth)
    done = api.get(f"/learn/{course.slug}", headers=auth)["json"]["course"]
    assert done["progress"]["percent"] == 100 and done["next_lesson"] is None


def test_the_library_shows_progress_and_next_lesson_with_one_progress_query_per_user(api, setup):
    user, auth, course, lessons = setup
    other = make_course("second-course")
    grant(user, other)
    other_lessons = lessons_of(other)
    put(api, course, lessons[0], {"position_seconds": 600}, auth)
    put(api, course, lessons[1], {"position_seconds": 600}, auth)
    with count_requests() as counter:
        library = api.get("/me/courses", headers=auth)["json"]["courses"]
    # #14 + #26 (one Query of every progress item of the user) + one outline per course (#2).
    assert counter.dynamodb() == ["Query"] * 4
    by_slug = {c["slug"]: c for c in library}
    assert by_slug[course.slug]["progress"] == {"completed_lessons": 2, "total_lessons": 4, "percent": 50}
    assert by_slug[course.slug]["next_lesson"]["slug"] == lessons[2].slug
    assert by_slug[other.slug]["progress"]["completed_lessons"] == 0
    assert by_slug[other.slug]["next_lesson"]["slug"] == other_lessons[0].slug
