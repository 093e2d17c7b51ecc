"""Learners, grants and lessons with durations, for the progress and certificate tests."""
from lectern import jwt_tokens
from lectern.accounts.users import create_user
from lectern.entitlements import service as entitlements
from lectern.models.catalog import CatalogItem, CourseLesson, course_pk


def learner(email="learner@example.com", name="Ada Learner"):
    user = create_user(email, name=name, password_hash="not-used-here")
    return user, {"Authorization": f"Bearer {jwt_tokens.mint(user.id).token}"}


def grant(user, course):
    entitlements.grant(user.id, course.id, course.slug, reason="test", actor="test", require_paid_order=False)


def lessons_of(course) -> list[CourseLesson]:
    """The course's lessons in outline order (module, then lesson), with a duration of 600 s each."""
    lessons = sorted((i for i in CatalogItem.query(course_pk(course.slug)) if isinstance(i, CourseLesson)),
                     key=lambda lesson: lesson.slug)
    for lesson in lessons:
        if lesson.is_published:
            lesson.update(actions=[CourseLesson.duration_seconds.set(600)])
    return [lesson for lesson in lessons if lesson.is_published]


def put(api, course, lesson, body, headers):
    return api.request("PUT", f"/learn/{course.slug}/lessons/{lesson.slug}/progress", body=body, headers=headers)
