"""The catalog's wire shapes, as pydantic models: what GET /courses and GET /courses/{slug} answer.

They document the API (the OpenAPI in docs/openapi.json is generated from them), and
lectern.catalog.views builds them from the catalog's items. The learner's shapes
(lectern.learning.schemas) extend them.
"""
from pydantic import BaseModel, Field


class Price(BaseModel):
    amount: int = Field(description="Minor units, e.g. 4900 = $49.00")
    currency: str = Field(description="Lowercase ISO 4217 code")


class CourseSummary(BaseModel):
    id: str
    slug: str
    title: str
    description: str
    thumbnail_url: str | None
    price: Price | None
    module_count: int
    lesson_count: int


class LessonOutline(BaseModel):
    id: str
    slug: str
    title: str
    summary: str
    sort_order: int
    is_preview: bool
    resource_count: int


class ModuleOutline(BaseModel):
    id: str
    title: str
    sort_order: int
    lessons: list[LessonOutline]


class CourseDetail(CourseSummary):
    modules: list[ModuleOutline]


class CourseList(BaseModel):
    courses: list[CourseSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class CourseDetailEnvelope(BaseModel):
    course: CourseDetail
