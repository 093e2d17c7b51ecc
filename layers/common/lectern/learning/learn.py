"""The course player: the full outline with resources, and one lesson with playback."""
from collections.abc import Callable

from lectern import wire
from lectern.catalog import views
from lectern.catalog.queries import Outline, load_outline
from lectern.errors import NotFound
from lectern.learning import access, progress
from lectern.learning.playback import playback
from lectern.learning.schemas import (
    LearnerCourseDetail, LearnerCourseEnvelope, LearnerLesson, LearnerModule, LessonPlayer, LessonPlayerEnvelope,
    ResourceInfo,
)
from lectern.models import entitlements as store
from lectern.models.catalog import CourseLesson, LessonResource


def resource_info(resource: LessonResource) -> ResourceInfo:
    return ResourceInfo(id=resource.id, name=resource.name, mime_type=resource.mime_type,
                        size_bytes=int(resource.size_bytes))


def course_detail(outline: Outline, done: dict[str, store.LessonProgress]) -> LearnerCourseDetail:
    """The catalog's CourseDetail (lectern.catalog.views) with each lesson's resources, duration and
    progress, and the course's progress and next lesson (`done`: the progress items by lesson id)."""
    modules = []
    for module in outline.modules:
        lessons = []
        for lesson in outline.lessons.get(module.id, []):
            resources = [resource_info(r) for r in outline.resources.get(lesson.id, [])]
            item = done.get(lesson.id)
            lessons.append(LearnerLesson(
                **wire.values(views.lesson_outline(lesson, len(resources))), resources=resources,
                duration_seconds=int(lesson.duration_seconds) if lesson.duration_seconds is not None else None,
                progress=progress.view(item, lesson.slug) if item is not None else None))
        modules.append(LearnerModule(id=module.id, title=module.title, sort_order=int(module.sort_order),
                                     lessons=lessons))
    course_progress, next_lesson = progress.summary(outline, done)
    return LearnerCourseDetail(**wire.values(views.course_summary(outline.course)), modules=modules,
                               progress=course_progress, next_lesson=next_lesson)


def course_for_learner(user_id: str, course_slug: str) -> LearnerCourseEnvelope:
    """The course with its resources and the learner's progress; 404 unknown/unpublished, 403 not
    entitled. Three requests: the outline Query, the audited entitlement check, the Query of the
    learner's progress in the course (#26)."""
    outline = load_outline(course_slug)
    access.authorize(user_id, outline.course.id, action=access.LEARN, target=f"course/{course_slug}")
    done = progress.by_lesson(store.progress_in_course(user_id, outline.course.id))
    return LearnerCourseEnvelope(course=course_detail(outline, done))


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
