"""Read side of the catalog: one DynamoDB request per public route.

- list_published: one Query on gsi1 ("PUBLISHED"), newest first, limit+1 items
  so we know whether a next page exists without a second call.
- load_outline:   one Query on the course partition returns the course,
  its modules, lessons and resources.
"""
import base64
import binascii
import json
import re
from dataclasses import dataclass, field

from pynamodb.exceptions import DoesNotExist

from lectern.errors import NotFound, ValidationFailed
from lectern.models.catalog import (
    PUBLISHED, CatalogItem, Course, CourseLesson, CourseModule, LessonResource, course_pk,
)

_CURSOR_SK = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ#[0-9a-z]{26}$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")


def is_slug(value: str) -> bool:
    return bool(_SLUG.match(value))


def published_course(slug: str) -> Course:
    """A published course by its slug (one GetItem); unknown, malformed and unpublished slugs are
    the same 404, so no answer tells a hidden course from a missing one."""
    if not is_slug(slug):
        raise NotFound("No such course.")
    try:
        course = Course.get(course_pk(slug), Course.sort_key())
    except DoesNotExist:
        raise NotFound("No such course.") from None
    if not isinstance(course, Course) or not course.is_published:
        raise NotFound("No such course.")
    return course


def encode_cursor(course: Course) -> str:
    raw = json.dumps({"k": course.gsi1sk, "s": course.slug}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, str]:
    """The DynamoDB start key behind a cursor; anything not made by encode_cursor → 422."""
    invalid = ValidationFailed(details={"cursor": ["is not a cursor this API returned"]})
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(data, dict) or set(data) != {"k", "s"}:
        raise invalid
    sort_key, slug = data["k"], data["s"]
    if not (isinstance(sort_key, str) and _CURSOR_SK.match(sort_key) and isinstance(slug, str) and is_slug(slug)):
        raise invalid
    return {
        "pk": {"S": course_pk(slug)}, "sk": {"S": Course.sort_key()},
        "gsi1pk": {"S": PUBLISHED}, "gsi1sk": {"S": sort_key},
    }


def list_published(limit: int, cursor: str | None) -> tuple[list[Course], str | None]:
    start_key = decode_cursor(cursor) if cursor else None
    results = CatalogItem.by_gsi1.query(
        PUBLISHED, scan_index_forward=False, limit=limit + 1, page_size=limit + 1,
        last_evaluated_key=start_key,
    )
    courses = [item for item in results if isinstance(item, Course) and item.is_published]
    if len(courses) > limit:
        courses = courses[:limit]
        return courses, encode_cursor(courses[-1])
    return courses, None


@dataclass
class Outline:
    """A course with its published modules, lessons and resources, in sort order."""

    course: Course
    modules: list[CourseModule] = field(default_factory=list)
    lessons: dict[str, list[CourseLesson]] = field(default_factory=dict)  # module id → lessons
    resources: dict[str, list[LessonResource]] = field(default_factory=dict)  # lesson id → resources

    def published_lessons(self) -> list[CourseLesson]:
        return [lesson for module in self.modules for lesson in self.lessons.get(module.id, [])]


def load_outline(slug: str) -> Outline:
    """The published outline of a course; unknown or unpublished → NotFound (the same words either way)."""
    if not is_slug(slug):
        raise NotFound()
    course, modules, lessons, resources = None, [], [], []
    for item in CatalogItem.query(course_pk(slug)):
        if isinstance(item, Course):
            course = item
        elif isinstance(item, CourseModule):
            modules.append(item)
        elif isinstance(item, CourseLesson):
            lessons.append(item)
        elif isinstance(item, LessonResource):
            resources.append(item)
    if course is None or not course.is_published:
        raise NotFound()

    outline = Outline(course=course)
    outline.modules = sorted((m for m in modules if m.is_published), key=lambda m: (m.sort_order, m.id))
    module_ids = {m.id for m in outline.modules}
    for lesson in sorted(lessons, key=lambda item: (item.sort_order, item.id)):
        if lesson.is_published and lesson.module_id in module_ids:
            outline.lessons.setdefault(lesson.module_id, []).append(lesson)
    lesson_ids = {lesson.id for lesson in outline.published_lessons()}
    for resource in sorted(resources, key=lambda item: (item.sort_order, item.id)):
        if resource.is_published and resource.lesson_id in lesson_ids:
            outline.resources.setdefault(resource.lesson_id, []).append(resource)
    return outline
