"""The learner's wire shapes (OpenAPI components): the library, the order history, the course
player, playback, downloads, progress and certificates. The course shapes extend the catalog's
(lectern.catalog.schemas); lectern.learning's views build them. What the progress heartbeat takes
is `lectern.learning.request_models`."""
from typing import Literal

from lectern.catalog.schemas import CourseSummary, LessonOutline
from lectern.wire import shape

MAX_POSITION_SECONDS = 7 * 24 * 3600


@shape
class LessonProgress:
    lesson_slug: str
    position_seconds: int
    """Where the learner was in the video, to resume there"""
    completed_at: str | None
    """When the lesson was first completed; never undone"""
    updated_at: str
    """The last write (a heartbeat of the player)"""


@shape
class CourseProgress:
    completed_lessons: int
    """Published lessons completed"""
    total_lessons: int
    """Published lessons of the course"""
    percent: int
    """completed_lessons / total_lessons, rounded down, 0-100 (0 without lessons)"""


@shape
class NextLesson:
    slug: str
    title: str
    module_id: str


@shape
class LibraryCourse(CourseSummary):
    granted_at: str
    """When the entitlement was (last) granted"""
    progress: CourseProgress
    next_lesson: NextLesson | None
    """The first published lesson, in outline order, not completed yet; null when every one is"""


@shape
class Library:
    courses: list[LibraryCourse]


@shape
class OrderHistoryItem:
    course_id: str
    course_slug: str
    course_title: str
    unit_amount: int
    quantity: int


@shape
class OrderGift:
    recipient_email: str
    recipient_name: str | None


@shape
class OrderHistoryEntry:
    id: str
    status: Literal["pending", "paid", "failed", "refunded"]
    subtotal_amount: int
    discount_amount: int
    total_amount: int
    currency: str
    created_at: str
    paid_at: str | None
    refunded_at: str | None
    refund_reason: Literal["duplicate_purchase"] | None
    """`duplicate_purchase`: Lectern refunded this payment itself, because the course was already bought through
    another order"""
    items: list[OrderHistoryItem]
    gift: OrderGift | None
    """Set on a gift: who got the course (POST /me/orders/{order_id}/resend-gift emails them again)"""


@shape
class OrderHistory:
    orders: list[OrderHistoryEntry]


@shape
class ResourceInfo:
    id: str
    """Pass to GET /resources/{resource_id}/download"""
    name: str
    mime_type: str
    size_bytes: int


@shape
class LearnerLesson(LessonOutline):
    resources: list[ResourceInfo]
    duration_seconds: int | None
    """The video's length; null when not known"""
    progress: LessonProgress | None
    """null until the player first reported a position"""


@shape
class LearnerModule:
    id: str
    title: str
    sort_order: int
    lessons: list[LearnerLesson]


@shape
class LearnerCourseDetail(CourseSummary):
    modules: list[LearnerModule]
    progress: CourseProgress
    next_lesson: NextLesson | None
    """The first published lesson, in outline order, not completed yet; null when every one is"""


@shape
class LearnerCourseEnvelope:
    course: LearnerCourseDetail


@shape
class Playback:
    video_id: str
    token: str
    """Cloudflare Stream signed token (RS256 JWT, `sub` = video id), about 1 hour"""
    expires_at: str
    hls_url: str
    iframe_url: str


@shape
class LessonPlayer:
    id: str
    slug: str
    title: str
    summary: str
    module_id: str
    playback: Playback | None
    """null when the lesson has no video"""
    resources: list[ResourceInfo]


@shape
class LessonPlayerEnvelope:
    lesson: LessonPlayer


@shape
class DownloadLink:
    url: str
    """Presigned S3 GET URL; downloads as an attachment with the resource's name"""
    expires_at: str
    """The URL stops working at this time (at most 300 s ahead)"""


@shape
class ProgressEnvelope:
    progress: LessonProgress


@shape
class PublicCertificate:
    code: str
    """Unguessable (192 random bits, URL-safe base64)"""
    course_slug: str
    course_title: str
    learner_name: str
    issued_at: str
    status: Literal["valid", "revoked"]
    """`revoked` once the learner lost access to the course (refund, lost dispute, operator); it stays revoked
    unless an operator restores it (lectern_admin certificates restore)"""
    verify_url: str
    """The storefront's verification page, <FRONTEND_URL>/certificates/<code>"""


@shape
class Certificate(PublicCertificate):
    # (pydantic documents a dataclass's fields from its own source only: the parent's documented fields again)
    code: str
    """Unguessable (192 random bits, URL-safe base64)"""
    status: Literal["valid", "revoked"]
    """`revoked` once the learner lost access to the course (refund, lost dispute, operator); it stays revoked
    unless an operator restores it (lectern_admin certificates restore)"""
    verify_url: str
    """The storefront's verification page, <FRONTEND_URL>/certificates/<code>"""
    download_url: str
    """Presigned S3 GET of the PDF (at most 300 s ahead)"""


@shape
class CertificateList:
    certificates: list[Certificate]


@shape
class CertificateEnvelope:
    certificate: PublicCertificate


@shape
class Enrolment:
    course_slug: str
    enrolled_at: str
    """When the entitlement was (last) granted, UTC"""
