"""The learner's wire shapes, as pydantic models (OpenAPI components): the library, the order
history, the course player, playback and downloads. The course shapes extend the catalog's
(lectern.catalog.schemas); lectern.learning's views build them."""
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from lectern.catalog.schemas import CourseSummary, LessonOutline

MAX_POSITION_SECONDS = 7 * 24 * 3600


class LessonProgress(BaseModel):
    lesson_slug: str
    position_seconds: int = Field(description="Where the learner was in the video, to resume there")
    completed_at: str | None = Field(description="When the lesson was first completed; never undone")
    updated_at: str = Field(description="The last write (a heartbeat of the player)")


class CourseProgress(BaseModel):
    completed_lessons: int = Field(description="Published lessons completed")
    total_lessons: int = Field(description="Published lessons of the course")
    percent: int = Field(description="completed_lessons / total_lessons, rounded down, 0-100 (0 without lessons)")


class NextLesson(BaseModel):
    slug: str
    title: str
    module_id: str


_NEXT_LESSON = "The first published lesson, in outline order, not completed yet; null when every one is"


class LibraryCourse(CourseSummary):
    granted_at: str = Field(description="When the entitlement was (last) granted")
    progress: CourseProgress
    next_lesson: NextLesson | None = Field(description=_NEXT_LESSON)


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
    duration_seconds: int | None = Field(description="The video's length; null when not known")
    progress: LessonProgress | None = Field(description="null until the player first reported a position")


class LearnerModule(BaseModel):
    id: str
    title: str
    sort_order: int
    lessons: list[LearnerLesson]


class LearnerCourseDetail(CourseSummary):
    modules: list[LearnerModule]
    progress: CourseProgress
    next_lesson: NextLesson | None = Field(description=_NEXT_LESSON)


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


class ProgressRequest(BaseModel):
    """A heartbeat of the player. Numbers must be JSON integers and `completed` a JSON boolean."""

    model_config = ConfigDict(extra="ignore")

    position_seconds: Annotated[StrictInt, Field(ge=0, le=MAX_POSITION_SECONDS,
                                                 description="Seconds into the video (0 up to a week)")]
    completed: StrictBool = Field(default=False, description="true completes the lesson; false never un-completes")


class ProgressEnvelope(BaseModel):
    progress: LessonProgress


class PublicCertificate(BaseModel):
    code: str = Field(description="Unguessable (192 random bits, URL-safe base64)")
    course_slug: str
    course_title: str
    learner_name: str
    issued_at: str
    status: Literal["valid", "revoked"] = Field(description="`revoked` once the learner lost access to the course "
                                                            "(refund, lost dispute, operator); it stays revoked")
    verify_url: str = Field(description="The storefront's verification page, <FRONTEND_URL>/certificates/<code>")


class Certificate(PublicCertificate):
    download_url: str = Field(description="Presigned S3 GET of the PDF (at most 300 s ahead)")


class CertificateList(BaseModel):
    certificates: list[Certificate]


class CertificateEnvelope(BaseModel):
    certificate: PublicCertificate


class Enrolment(BaseModel):
    course_slug: str
    enrolled_at: str = Field(description="When the entitlement was (last) granted, UTC")
