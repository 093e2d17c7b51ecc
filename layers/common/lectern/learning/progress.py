"""Lesson progress as the learner sees it: each lesson's resume position and completion, the
course's completed share and the lesson to go on with. Read-only views over the progress items
(lectern.models.entitlements, pattern #26); the write is lectern.learning.heartbeat."""
from collections.abc import Iterable

from lectern.catalog.queries import Outline
from lectern.learning.schemas import CourseProgress, LessonProgress, NextLesson
from lectern.models import entitlements as store
from lectern.models.catalog import CourseLesson

COMPLETION_SHARE = 0.9  # a position at 90 % of the video's length completes the lesson


def completes(lesson: CourseLesson, position_seconds: int, completed: bool) -> bool:
    """Does this heartbeat complete the lesson? `completed`, or a position at 90 % of a known duration."""
    if completed:
        return True
    duration = int(lesson.duration_seconds or 0)
    return duration > 0 and position_seconds >= COMPLETION_SHARE * duration


def view(item: store.LessonProgress, lesson_slug: str | None = None) -> LessonProgress:
    return LessonProgress(lesson_slug=lesson_slug or item.lesson_slug, position_seconds=int(item.position_seconds),
                          completed_at=item.completed_at, updated_at=item.updated_at)


def by_lesson(items: Iterable[store.LessonProgress]) -> dict[str, store.LessonProgress]:
    """Progress items by lesson id."""
    return {item.lesson_id: item for item in items}


def summary(outline: Outline, progress: dict[str, store.LessonProgress]) -> tuple[CourseProgress, NextLesson | None]:
    """The course's completed share and its next lesson, over its published lessons only (a hidden
    lesson neither counts nor blocks)."""
    lessons = outline.published_lessons()
    done = [lesson for lesson in lessons if lesson.id in progress and progress[lesson.id].completed_at]
    total = len(lessons)
    following = next((lesson for lesson in lessons
                      if not (lesson.id in progress and progress[lesson.id].completed_at)), None)
    course_progress = CourseProgress(completed_lessons=len(done), total_lessons=total,
                                     percent=len(done) * 100 // total if total else 0)
    next_lesson = (NextLesson(slug=following.slug, title=following.title, module_id=following.module_id)
                   if following is not None else None)
    return course_progress, next_lesson


def all_completed(outline: Outline, progress: dict[str, store.LessonProgress]) -> bool:
    lessons = outline.published_lessons()
    return bool(lessons) and all(lesson.id in progress and progress[lesson.id].completed_at for lesson in lessons)
