"""The catalog's wire shapes: what GET /courses and GET /courses/{slug} answer.

Plain dataclasses (`lectern.wire.shape`): they document the API (the OpenAPI in docs/openapi.json is
generated from them), and lectern.catalog.views builds them from the catalog's items. The learner's
shapes (lectern.learning.schemas) extend them.
"""
from lectern.wire import shape


@shape
class Price:
    amount: int
    """Minor units, e.g. 4900 = $49.00"""
    currency: str
    """Lowercase ISO 4217 code"""


@shape
class CourseSummary:
    id: str
    slug: str
    title: str
    description: str
    thumbnail_url: str | None
    price: Price | None
    module_count: int
    lesson_count: int


@shape
class LessonOutline:
    id: str
    slug: str
    title: str
    summary: str
    sort_order: int
    is_preview: bool
    resource_count: int


@shape
class ModuleOutline:
    id: str
    title: str
    sort_order: int
    lessons: list[LessonOutline]


@shape
class CourseDetail(CourseSummary):
    modules: list[ModuleOutline]


@shape
class CourseList:
    courses: list[CourseSummary]
    next_cursor: str | None
    """Pass as `cursor` for the next page; null on the last page"""


@shape
class CourseDetailEnvelope:
    course: CourseDetail
