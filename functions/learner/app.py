"""Learner function: /me, /me/courses, /me/orders, /learn/{course_slug}, and POST
/courses/{slug}/enroll (a free course into the library: an entitlement, which this function already
writes beside its access audit, so it needs only reads more than it had). One lesson with its
playback token is the lesson function's (functions/lesson): signing it needs cryptography, which
every route here would otherwise load at each cold start.

Every route but preview lessons needs a signed-in user (lectern.api.auth);
every answer is personal, so nothing may be cached (`no-store`).
"""
from __future__ import annotations  # the routes' pydantic annotations are read at build time only

import dataclasses
from typing import TYPE_CHECKING, Annotated

import lectern.powertools_imports  # noqa: F401, I001  (first of all: lectern/powertools_imports.py)
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths

from lectern import snapstart
from lectern.accounts.schemas import UserEnvelope
from lectern.api.app import LecternResolver
from lectern.api.auth import SIGNED_IN, document_bearer_auth, require_user_id
from lectern.api.schemas import api_responses
from lectern.learning import enrolment, learn, library
from lectern.learning.schemas import Enrolment, LearnerCourseEnvelope, Library, OrderHistory
from lectern.observability import logger, metrics, tracer

if TYPE_CHECKING:  # read by the OpenAPI and request-validator generators (lectern_dev.route_models)
    from aws_lambda_powertools.event_handler.openapi.params import Path

app = LecternResolver(cache_control="no-store")
document_bearer_auth(app)

_TAGS = ["Learner"]


@app.get("/me", summary="The signed-in user", tags=_TAGS, security=SIGNED_IN,
         responses=api_responses(200, UserEnvelope, 401, 503))
def me() -> UserEnvelope:
    return library.me(require_user_id(app))


@app.get("/me/courses", summary="Courses the user may open (active entitlements to published courses)",
         tags=_TAGS, security=SIGNED_IN, responses=api_responses(200, Library, 401, 503))
def my_courses() -> Library:
    return library.my_courses(require_user_id(app))


@app.get("/me/orders", summary="The user's orders with their items, newest first", tags=_TAGS,
         security=SIGNED_IN, responses=api_responses(200, OrderHistory, 401, 503))
def my_orders() -> OrderHistory:
    return library.my_orders(require_user_id(app))


@app.post("/courses/<slug>/enroll", status_code=201, summary="Enrol in a free course", tags=_TAGS,
          security=SIGNED_IN,
          description="A published course without a price goes into the signed-in user's library (an "
                      "entitlement with source `free`). 201 when enrolled now; 200 with the same shape when "
                      "the user already has the course. 404 for an unknown or unpublished course; 409 "
                      "`not_free` for a priced course (buy it with POST /checkout).",
          responses={**api_responses(201, Enrolment, 401, 404, 409, 503, description="Enrolled now"),
                     **{200: api_responses(200, Enrolment, description="Already enrolled")[200]}})
def enroll(slug: Annotated[str, Path(max_length=100)]) -> Enrolment:
    enrolled, created = enrolment.enrol(require_user_id(app), slug)
    if created:
        return enrolled
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=dataclasses.asdict(enrolled))


@app.get("/learn/<course_slug>", summary="The course player's outline, with each lesson's resources",
         tags=_TAGS, security=SIGNED_IN, responses=api_responses(200, LearnerCourseEnvelope, 401, 403, 404, 503))
def learn_course(course_slug: Annotated[str, Path(max_length=100)]) -> LearnerCourseEnvelope:
    """403 `not_entitled` without an active entitlement (the body names nothing of the course);
    404 for an unknown or unpublished course."""
    return learn.course_for_learner(require_user_id(app), course_slug)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)


snapstart.prepare(app)  # Lambda SnapStart: prime before the snapshot, renew after each restore
