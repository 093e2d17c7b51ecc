"""The course player: the full outline with resources and the learner's progress (one lesson with its
playback: lectern.learning.lessons, which only the lesson function loads)."""
from lectern import wire
from lectern.catalog import views
from lectern.catalog.queries import Outline, load_outline
from lectern.learning import access, progress
from lectern.learning.schemas import LearnerCourseDetail, LearnerCourseEnvelope, LearnerLesson, LearnerModule, ResourceInfo
from lectern.models import entitlements as store
from lectern.models.catalog import LessonResource


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

