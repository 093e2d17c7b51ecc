"""PUT /learn/{course_slug}/lessons/{lesson_slug}/progress: the player's heartbeat.

DynamoDB requests (docs/data-model.md, #25a):
  1. Query the course partition (#2): the lesson by slug (404 unknown or hidden), its duration,
     and the course's published lessons.
  2. GetItem the entitlement, strongly consistent (#13a): 403 `not_entitled`.
  3. UpdateItem the progress item (#25), ReturnValues ALL_OLD: position and `updated_at`, and
     `completed_at` with `if_not_exists` when this heartbeat completes the lesson.
That is every heartbeat: 3. Only the heartbeat that newly completes a lesson (the old item had no
`completed_at`) reads more: Query the course's progress (#26, consistent), and when every
published lesson is now completed, the certificate is issued (lectern.learning.certificates).

A heartbeat that says `completed: true` for a lesson completed already checks again, after one
GetItem of the certificate (#27b) finds none: that is the player retrying the save whose issue
failed (the completion was recorded, the issue was not, so no later heartbeat would newly complete
anything), or finishing a lesson again in a course whose last unfinished lesson was hidden since.
The player sends `completed: true` once per lesson end, so the ordinary heartbeat stays at 3.
"""
from lectern.catalog.queries import load_outline
from lectern.clock import iso
from lectern.errors import NotFound
from lectern.learning import access, certificates, progress
from lectern.learning.schemas import LessonProgress, ProgressEnvelope
from lectern.models import entitlements as store


def save(user_id: str, course_slug: str, lesson_slug: str, *, position_seconds: int,
         completed: bool) -> ProgressEnvelope:
    outline = load_outline(course_slug)
    lesson = next((lesson for lesson in outline.published_lessons() if lesson.slug == lesson_slug), None)
    if lesson is None:
        raise NotFound()
    access.require_entitled(user_id, outline.course.id)
    now = iso()
    complete = progress.completes(lesson, position_seconds, completed)
    before = store.record_progress(user_id, outline.course.id, lesson.id, lesson.slug,
                                   position_seconds=position_seconds, complete=complete, now=now)
    if complete and before is None:  # this heartbeat completed the lesson: maybe the course too
        certificates.issue_if_course_completed(user_id, outline)
    elif completed and before is not None and not certificates.has_certificate(user_id, outline.course.id):
        # Completed before, yet no certificate: the issue after that completion failed (the player retries
        # the save), or the lessons left were hidden since. Either way, check the course again.
        certificates.issue_if_course_completed(user_id, outline)
    return ProgressEnvelope(progress=LessonProgress(
        lesson_slug=lesson.slug, position_seconds=position_seconds,
        completed_at=before or (now if complete else None), updated_at=now))
