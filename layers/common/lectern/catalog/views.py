"""How catalog objects look on the wire. Never includes `stream_video_id` or
`storage_key`: those leave only through playback tokens and presigned URLs."""
from typing import Any

from lectern import config
from lectern.catalog.queries import Outline
from lectern.models.catalog import Course, LessonResource


def price(course: Course) -> dict[str, Any] | None:
    if course.price_amount is None:
        return None
    return {"amount": int(course.price_amount), "currency": course.currency}


def thumbnail_url(course: Course) -> str | None:
    """An uploaded thumbnail is served by the storefront's own origin (CloudFront deployed, the local
    web server in `make dev`), so its URL follows FRONTEND_URL wherever the site lives."""
    if course.thumbnail_key:
        return f"{config.frontend_url()}/{course.thumbnail_key}"
    return course.thumbnail_url


def course_summary(course: Course) -> dict[str, Any]:
    return {
        "id": course.id,
        "slug": course.slug,
        "title": course.title,
        "description": course.description,
        "thumbnail_url": thumbnail_url(course),
        "price": price(course),
        "module_count": int(course.module_count),
        "lesson_count": int(course.lesson_count),
    }


def resource_view(resource: LessonResource) -> dict[str, Any]:
    return {"id": resource.id, "name": resource.name, "mime_type": resource.mime_type,
            "size_bytes": int(resource.size_bytes)}


def course_detail(outline: Outline, *, with_resources: bool = False) -> dict[str, Any]:
    modules = []
    for module in outline.modules:
        lessons = []
        for lesson in outline.lessons.get(module.id, []):
            resources = outline.resources.get(lesson.id, [])
            view: dict[str, Any] = {
                "id": lesson.id, "slug": lesson.slug, "title": lesson.title, "summary": lesson.summary,
                "sort_order": int(lesson.sort_order), "is_preview": lesson.is_preview,
                "resource_count": len(resources),
            }
            if with_resources:
                view["resources"] = [resource_view(r) for r in resources]
            lessons.append(view)
        modules.append({"id": module.id, "title": module.title, "sort_order": int(module.sort_order),
                        "lessons": lessons})
    return {**course_summary(outline.course), "modules": modules}
