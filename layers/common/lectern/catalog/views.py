"""How catalog objects look on the wire: the models of lectern.catalog.schemas, built from the
catalog's items. Never includes `stream_video_id` or `storage_key`: those leave only through
playback tokens and presigned URLs."""
from lectern import config, wire
from lectern.catalog.queries import Outline
from lectern.catalog.schemas import CourseDetail, CourseSummary, LessonOutline, ModuleOutline, Price
from lectern.models.catalog import Course, CourseLesson


def price(course: Course) -> Price | None:
    if course.price_amount is None:
        return None
    return Price(amount=int(course.price_amount), currency=course.currency)


def thumbnail_url(course: Course) -> str | None:
    """An uploaded thumbnail is served by the storefront's own origin (CloudFront deployed, the local
    web server in `make dev`), so its URL follows FRONTEND_URL wherever the site lives."""
    if course.thumbnail_key:
        return f"{config.frontend_url()}/{course.thumbnail_key}"
    return course.thumbnail_url


def course_summary(course: Course) -> CourseSummary:
    return CourseSummary(
        id=course.id, slug=course.slug, title=course.title, description=course.description,
        thumbnail_url=thumbnail_url(course), price=price(course),
        module_count=int(course.module_count), lesson_count=int(course.lesson_count))


def lesson_outline(lesson: CourseLesson, resource_count: int) -> LessonOutline:
    return LessonOutline(id=lesson.id, slug=lesson.slug, title=lesson.title, summary=lesson.summary,
                         sort_order=int(lesson.sort_order), is_preview=lesson.is_preview,
                         resource_count=resource_count)


def course_detail(outline: Outline) -> CourseDetail:
    modules = [
        ModuleOutline(id=module.id, title=module.title, sort_order=int(module.sort_order), lessons=[
            lesson_outline(lesson, len(outline.resources.get(lesson.id, [])))
            for lesson in outline.lessons.get(module.id, [])])
        for module in outline.modules]
    return CourseDetail(**wire.values(course_summary(outline.course)), modules=modules)
