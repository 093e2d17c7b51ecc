"""Enrolling in a free course: a published course without a price is free to every signed-in user.

The entitlement is the same item a purchase writes (one per user and course, models.entitlements),
with source `free` and no order; entitlements.service.grant writes it with its history in one
conditional transaction, so however many enrolments arrive at once, one entitlement is active.
Requests: the course (GetItem, #4) and the grant (#15); when the user already has the course, the
cancelled grant reads the entitlement back (one GetItem): 2, or 3 when already enrolled.
"""

from lectern.catalog.queries import published_course
from lectern.entitlements import service as entitlements
from lectern.errors import NotFree, ServiceUnavailable
from lectern.learning.schemas import Enrolment
from lectern.models.catalog import Course
from lectern.models.entitlements import ACTIVE, FREE


def _free_course(slug: str) -> Course:
    """Unknown and unpublished courses are the same 404; a priced course is 409 `not_free`."""
    course = published_course(slug)
    if course.price_amount is not None:
        raise NotFree()
    return course


def enrol(user_id: str, slug: str) -> tuple[Enrolment, bool]:
    """(the enrolment, True when it was made now). Already holding the course (enrolled before,
    bought it when it was priced, granted by an operator) is not an error: the same answer."""
    course = _free_course(slug)
    change = entitlements.grant(user_id, course.id, course.slug, reason="free_enrolment", actor=f"user:{user_id}",
                                source=FREE)
    entitlement = change.entitlement
    if entitlement is None or entitlement.status != ACTIVE:  # cancelled, yet not active: a conflict
        raise ServiceUnavailable()
    return Enrolment(course_slug=course.slug, enrolled_at=entitlement.granted_at), change.changed
