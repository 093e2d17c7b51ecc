"""The learner's wire shapes, as pydantic models (OpenAPI components): the library, the order
history, the course player, playback and downloads. The course shapes extend the catalog's
(lectern.catalog.schemas); lectern.learning's views build them."""
from typing import Literal

from pydantic import BaseModel, Field

from lectern.catalog.schemas import CourseSummary, LessonOutline


class LibraryCourse(CourseSummary):
    granted_at: str = Field(description="When the entitlement was (last) granted")


class Library(BaseModel):
    courses: list[LibraryCourse]


class OrderHistoryItem(BaseModel):
    course_id: str
    course_slug: str
    course_title: str
    unit_amount: int
    quantity: int


class OrderGift(BaseModel):
    recipient_email: str
    recipient_name: str | None


class OrderHistoryEntry(BaseModel):
    id: str
    status: Literal["pending", "paid", "failed", "refunded"]
    subtotal_amount: int
    discount_amount: int
    total_amount: int
    currency: str
    created_at: str
    paid_at: str | None
    refunded_at: str | None
    refund_reason: Literal["duplicate_purchase"] | None = Field(
        description="`duplicate_purchase`: Lectern refunded this payment itself, because the "
                                  "course was already bought through another order")
    items: list[OrderHistoryItem]
    gift: OrderGift | None = Field(
        description="Set on a gift: who got the course (POST /me/orders/{order_id}/resend-gift emails them again)")


class OrderHistory(BaseModel):
    orders: list[OrderHistoryEntry]


class ResourceInfo(BaseModel):
    id: str = Field(description="Pass to GET /resources/{resource_id}/download")
    name: str
    mime_type: str
    size_bytes: int


class LearnerLesson(LessonOutline):
    resources: list[ResourceInfo]


class LearnerModule(BaseModel):
    id: str
    title: str
    sort_order: int
    lessons: list[LearnerLesson]


class LearnerCourseDetail(CourseSummary):
    modules: list[LearnerModule]


class LearnerCourseEnvelope(BaseModel):
    course: LearnerCourseDetail


class Playback(BaseModel):
    video_id: str
    token: str = Field(description="Cloudflare Stream signed token (RS256 JWT, `sub` = video id), about 1 hour")
    expires_at: str
    hls_url: str
    iframe_url: str


class LessonPlayer(BaseModel):
    id: str
    slug: str
    title: str
    summary: str
    module_id: str
    playback: Playback | None = Field(description="null when the lesson has no video")
    resources: list[ResourceInfo]


class LessonPlayerEnvelope(BaseModel):
    lesson: LessonPlayer


class DownloadLink(BaseModel):
    url: str = Field(description="Presigned S3 GET URL; downloads as an attachment with the resource's name")
    expires_at: str = Field(description="The URL stops working at this time (at most 300 s ahead)")


class Enrolment(BaseModel):
    course_slug: str
    enrolled_at: str = Field(description="When the entitlement was (last) granted, UTC")
