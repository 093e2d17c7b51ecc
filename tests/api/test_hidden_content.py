"""Hidden means hidden: an unpublished course, module or lesson hides everything in it (lessons,
playback, resources, downloads), and every "not found" on the learner routes reads the same, so
no answer tells a hidden thing from one that does not exist."""
import pytest

from support.factories import make_course
from lectern import jwt_tokens
from lectern.accounts.users import create_user
from lectern.entitlements import service as entitlements
from lectern.models.catalog import CatalogItem, Course, CourseLesson, CourseModule, LessonResource, course_pk
from support.contract import NOT_FOUND, UNKNOWN_RESOURCE
from support.request_counter import count_requests

SIGNING_KEY = "test-only-hs256-signing-key-0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(autouse=True)
def signing_key(monkeypatch):
    monkeypatch.setenv("AUTH_SIGNING_KEY", SIGNING_KEY)


def _items(course, kind):
    return sorted((i for i in CatalogItem.query(course_pk(course.slug)) if isinstance(i, kind)),
                  key=lambda i: getattr(i, "name", None) or getattr(i, "slug", None) or i.sort_order)


def _user(email, course=None):
    user = create_user(email, password_hash="not-used-here")
    if course is not None:
        entitlements.grant(user.id, course.id, course.slug, reason="test", actor="test", require_paid_order=False)
    return {"Authorization": f"Bearer {jwt_tokens.mint(user.id).token}"}


def _hide(item):
    item.update(actions=[type(item).is_published.set(False)])


def _download(api, resource_id, auth):
    return api.get(f"/resources/{resource_id}/download", headers=auth)


@pytest.fixture
def course(aws):
    return make_course("hidden-things")


@pytest.mark.parametrize("entitled", [True, False], ids=["entitled", "not-entitled"])
@pytest.mark.parametrize("hidden", ["resource", "lesson", "module", "course"])
def test_a_hidden_resource_answers_exactly_what_an_unknown_one_does(api, course, hidden, entitled):
    auth = _user("learner@example.com", course if entitled else None)
    resource = _items(course, LessonResource)[0]
    target = {
        "resource": resource,
        "lesson": CourseLesson.get(course_pk(course.slug), f"LESSON#{resource.lesson_id}"),
        "module": CourseModule.get(course_pk(course.slug), f"MODULE#{resource.module_id}"),
        "course": Course.get(course_pk(course.slug), "COURSE"),
    }[hidden]
    if entitled:
        assert _download(api, resource.id, auth)["statusCode"] == 302
    _hide(target)

    unknown, hidden_one = _download(api, UNKNOWN_RESOURCE, auth), _download(api, resource.id, auth)
    assert (hidden_one["statusCode"], hidden_one["json"]) == (404, NOT_FOUND)
    assert (unknown["statusCode"], unknown["json"]) == (404, NOT_FOUND)
    assert hidden_one["headers"].keys() == unknown["headers"].keys()


def test_a_module_hides_every_resource_in_it_and_only_those(api, course):
    auth = _user("learner@example.com", course)
    module = _items(course, CourseModule)[0]
    inside = [r for r in _items(course, LessonResource) if r.module_id == module.id]
    outside = [r for r in _items(course, LessonResource) if r.module_id != module.id]
    assert inside and outside
    _hide(module)
    assert [_download(api, r.id, auth)["statusCode"] for r in inside] == [404] * len(inside)
    assert [_download(api, r.id, auth)["statusCode"] for r in outside] == [302] * len(outside)
    listed = {r["id"] for m in api.get(f"/learn/{course.slug}", headers=auth)["json"]["course"]["modules"]
              for lesson in m["lessons"] for r in lesson["resources"]}
    assert listed == {r.id for r in outside}


def test_a_lesson_moved_into_a_hidden_module_hides_its_resources_before_they_are_updated(api, course):
    auth = _user("learner@example.com", course)
    first, second = _items(course, CourseModule)
    resource = next(r for r in _items(course, LessonResource) if r.module_id == first.id)
    _hide(second)
    # Half-way through a `catalog apply`: the lesson is in the hidden module, its resource does not know yet.
    CourseLesson.get(course_pk(course.slug), f"LESSON#{resource.lesson_id}").update(
        actions=[CourseLesson.module_id.set(second.id)])
    assert _download(api, resource.id, auth)["statusCode"] == 404


def test_resources_written_before_they_carried_their_module_are_checked_through_their_lesson(api, course):
    auth = _user("learner@example.com", course)
    resource = _items(course, LessonResource)[0]
    resource.update(actions=[LessonResource.module_id.remove()])
    with count_requests() as counter:
        assert _download(api, resource.id, auth)["statusCode"] == 302
    assert counter.dynamodb() == ["Query", "GetItem", "TransactWriteItems"]
    _hide(CourseModule.get(course_pk(course.slug), f"MODULE#{_items(course, CourseLesson)[0].module_id}"))
    assert _download(api, resource.id, auth)["statusCode"] == 404


def test_every_not_found_on_the_learner_routes_reads_the_same(api, course):
    auth = _user("learner@example.com", course)
    make_course("draft-course", published=False)
    lesson = _items(course, CourseLesson)[-1]
    _hide(CourseModule.get(course_pk(course.slug), f"MODULE#{lesson.module_id}"))
    paths = [
        "/learn/no-such-course", "/learn/draft-course", f"/learn/{course.slug}/lessons/no-such-lesson",
        f"/learn/{course.slug}/lessons/{lesson.slug}", "/learn/draft-course/lessons/lesson-1-1",
        "/learn/no-such-course/lessons/lesson-1-1", "/learn/%01", f"/resources/{UNKNOWN_RESOURCE}/download",
    ]
    answers = {path: api.get(path, headers=auth) for path in paths}
    assert {path: (a["statusCode"], a["json"]) for path, a in answers.items()} == {
        path: (404, NOT_FOUND) for path in paths}
