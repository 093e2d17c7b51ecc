"""Enrolling in a free course: a published course without a price is free to every signed-in user.

The entitlement is the same item a purchase writes (one per user and course, models.entitlements),
with source `free` and no order; entitlements.service.grant writes it with its history in one
conditional transaction, so however many enrolments arrive at once, one entitlement is active.
Requests: the course (GetItem, #4) and the grant (#15); when the user already has the course, the
cancelled grant reads the entitlement back (one GetItem): 2, or 3 when already enrolled.
"""
from pynamodb.exceptions import DoesNotExist

from lectern.catalog.queries import is_slug
from lectern.entitlements import service as entitlements
from lectern.errors import NotFound, NotFree, ServiceUnavailable
from lectern.learning.schemas import Enrolment
from lectern.models.catalog import Course, course_pk
from lectern.models.entitlements import ACTIVE, FREE


def _free_course(slug: str) -> Course:
    """Unknown and unpublished courses are the same 404; a priced course is 409 `not_free`."""
    if not is_slug(slug):
        raise NotFound("No such course.")
    try:
        course = Course.get(course_pk(slug), Course.sort_key())
    except DoesNotExist:
        raise NotFound("No such course.") from None
    if not isinstance(course, Course) or not course.is_published:
        raise NotFound("No such course.")
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
