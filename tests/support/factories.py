"""Small builders for catalog data, written straight through the models."""
from lectern.clock import iso
from lectern.ids import new_id
from lectern.models.catalog import (
    PUBLISHED, Course, CourseLesson, CourseModule, LessonResource, course_pk,
)


def make_course(slug: str, *, title: str | None = None, published: bool = True, price: int | None = 4900,
                published_at: str = "2026-01-01T00:00:00Z", modules: int = 2, lessons_per_module: int = 2,
                preview_first: bool = True, unpublished_lesson: bool = False) -> Course:
    course_id = new_id()
    now = iso()
    course = Course(course_pk(slug), "COURSE", id=course_id, course_id=course_id, slug=slug,
                    title=title or slug.replace("-", " ").title(), description=f"About {slug}",
                    price_amount=price, currency="usd", is_published=published, created_at=now, updated_at=now,
                    published_at=published_at if published else None)
    if published:
        course.gsi1pk, course.gsi1sk = PUBLISHED, f"{published_at}#{course_id}"
    lesson_count = 0
    for m in range(modules):
        module = CourseModule(course_pk(slug), f"MODULE#{new_id()}", course_id=course_id, created_at=now,
                              updated_at=now, title=f"Module {m + 1}", sort_order=m)
        module.id = module.sk.split("#", 1)[1]
        module.save()
        for n in range(lessons_per_module):
            lesson_id = new_id()
            lesson = CourseLesson(course_pk(slug), f"LESSON#{lesson_id}", id=lesson_id, course_id=course_id,
                                  module_id=module.id, slug=f"lesson-{m + 1}-{n + 1}", title=f"Lesson {m + 1}.{n + 1}",
                                  summary="", sort_order=n, is_preview=preview_first and m == 0 and n == 0,
                                  stream_video_id=f"{lesson_id:0>32}"[:32], created_at=now, updated_at=now)
            lesson.save()
            lesson_count += 1
            resource_id = new_id()
            LessonResource(course_pk(slug), f"RESOURCE#{resource_id}", id=resource_id, course_id=course_id,
                           lesson_id=lesson_id, module_id=module.id, course_slug=slug,
                           name=f"notes-{m + 1}-{n + 1}.txt",
                           storage_key=f"courses/{course_id}/resources/{resource_id}/notes.txt",
                           mime_type="text/plain", size_bytes=12, gsi1pk=f"RESOURCE#{resource_id}",
                           gsi1sk="RESOURCE", created_at=now, updated_at=now).save()
        if unpublished_lesson and m == 0:
            hidden_id = new_id()
            CourseLesson(course_pk(slug), f"LESSON#{hidden_id}", id=hidden_id, course_id=course_id,
                         module_id=module.id, slug="hidden-draft", title="Hidden draft", sort_order=99,
                         is_published=False, created_at=now, updated_at=now).save()
    course.module_count, course.lesson_count = modules, lesson_count
    course.save()
    return course
