"""Lesson function: GET /learn/{course_slug}/lessons/{lesson_slug}, one lesson with a signed
playback token.

A function of its own because the token is signed with RS256, which needs cryptography's RSA (about 13 ms
of every cold start; lectern.learning.playback); only this function's layer carries it (PlaybackLayer),
so the learner's other routes stay without it (docs/performance.md). A preview lesson opens without signing in; the
answer carries a personal, short-lived token, so nothing may be cached (`no-store`).
"""
from __future__ import annotations  # the routes' pydantic annotations are read at build time only

from typing import TYPE_CHECKING, Annotated

import lectern.powertools_imports  # noqa: F401, I001  (first of all: lectern/powertools_imports.py)
from aws_lambda_powertools.logging import correlation_paths

from lectern import snapstart
from lectern.api.app import LecternResolver
from lectern.api.auth import SIGNED_IN_OPTIONAL, document_bearer_auth, require_user_id
from lectern.api.schemas import api_responses
from lectern.learning import lessons
from lectern.learning.schemas import LessonPlayerEnvelope
from lectern.observability import logger, metrics, tracer

if TYPE_CHECKING:  # read by the OpenAPI and request-validator generators (lectern_dev.route_models)
    from aws_lambda_powertools.event_handler.openapi.params import Path

app = LecternResolver(cache_control="no-store")
document_bearer_auth(app)

_TAGS = ["Learner"]


@app.get("/learn/<course_slug>/lessons/<lesson_slug>", summary="One lesson with a signed playback token",
         tags=_TAGS, security=SIGNED_IN_OPTIONAL,
         responses=api_responses(200, LessonPlayerEnvelope, 401, 403, 404, 503))
def learn_lesson(course_slug: Annotated[str, Path(max_length=100)],
                 lesson_slug: Annotated[str, Path(max_length=100)]) -> LessonPlayerEnvelope:
    """Preview lessons open without signing in; every other lesson needs an active entitlement.
    `playback` is null when the lesson has no video. The token lives about an hour."""
    return lessons.open_lesson(_signed_in_user, course_slug, lesson_slug)


def _signed_in_user() -> str:
    """The caller (401 without one): asked only for a lesson that is not a preview."""
    return require_user_id(app)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)


snapstart.prepare(app)  # Lambda SnapStart: prime before the snapshot, renew after each restore
