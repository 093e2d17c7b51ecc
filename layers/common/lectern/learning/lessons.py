"""One lesson with its playback: the lesson function's only route.

Apart from lectern.learning.learn because signing a playback token (RS256) needs cryptography's RSA,
about 13 ms of every cold start that loads it; only the lesson function carries it (PlaybackLayer).
"""
from collections.abc import Callable

from lectern.catalog.queries import Outline, load_outline
from lectern.errors import NotFound
from lectern.learning import access
from lectern.learning.learn import resource_info
from lectern.learning.playback import playback
from lectern.learning.schemas import LessonPlayer, LessonPlayerEnvelope
from lectern.models.catalog import CourseLesson


def _find_lesson(outline: Outline, lesson_slug: str) -> CourseLesson:
    for lesson in outline.published_lessons():  # unpublished lessons (or modules) are simply not there
        if lesson.slug == lesson_slug:
            return lesson
    raise NotFound()


def find_lesson(course_slug: str, lesson_slug: str) -> tuple[Outline, CourseLesson]:
    outline = load_outline(course_slug)
    return outline, _find_lesson(outline, lesson_slug)


def lesson_view(outline: Outline, lesson: CourseLesson) -> LessonPlayerEnvelope:
    return LessonPlayerEnvelope(lesson=LessonPlayer(
        id=lesson.id, slug=lesson.slug, title=lesson.title, summary=lesson.summary,
        module_id=lesson.module_id, playback=playback(lesson.stream_video_id),
        resources=[resource_info(r) for r in outline.resources.get(lesson.id, [])]))


def authorize_lesson(user_id: str, outline: Outline, lesson: CourseLesson) -> None:
    access.authorize(user_id, outline.course.id, action=access.PLAYBACK,
                     target=f"course/{outline.course.slug}/lesson/{lesson.slug}")


def open_lesson(user: Callable[[], str], course_slug: str, lesson_slug: str) -> LessonPlayerEnvelope:
    """One published lesson with its playback: 404 unknown; a preview lesson opens for anyone, any
    other needs an active entitlement of `user()` (called only then: 401 when nobody signed in)."""
    outline, lesson = find_lesson(course_slug, lesson_slug)
    if not lesson.is_preview:
        authorize_lesson(user(), outline, lesson)
    return lesson_view(outline, lesson)
