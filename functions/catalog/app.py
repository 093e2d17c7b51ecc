"""Catalog function: GET /courses, GET /courses/{slug}, and the `$default` route.

Thin handler: parse, call lectern.catalog, answer. Imports nothing of
Stripe or crypto so its cold start stays small.
"""
from __future__ import annotations  # the parameters' pydantic annotations are read at build time only

from typing import TYPE_CHECKING, Annotated

import lectern.powertools_imports  # noqa: F401, I001  (first of all: lectern/powertools_imports.py)
from aws_lambda_powertools.logging import correlation_paths

from lectern import snapstart
from lectern.api.app import LecternResolver
from lectern.api.schemas import PUBLIC_CACHE, api_responses
from lectern.catalog import queries, views
from lectern.catalog.schemas import CourseDetailEnvelope, CourseList
from lectern.observability import logger, metrics, tracer

if TYPE_CHECKING:  # read by the OpenAPI and request-validator generators (lectern_dev.route_models)
    from aws_lambda_powertools.event_handler.openapi.params import Path, Query

app = LecternResolver(cache_control=PUBLIC_CACHE)


@app.get("/courses", summary="List published courses, newest first", tags=["Catalog"],
         responses=api_responses(200, CourseList, 503, cache_control=PUBLIC_CACHE))
def list_courses(
    limit: Annotated[int, Query(ge=1, le=50, description="Page size, 1–50")] = 20,
    cursor: Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page")] = None,
) -> CourseList:
    courses, next_cursor = queries.list_published(limit, cursor)
    return CourseList(courses=[views.course_summary(c) for c in courses], next_cursor=next_cursor)


@app.get("/courses/<slug>", summary="A published course with its outline", tags=["Catalog"],
         responses=api_responses(200, CourseDetailEnvelope, 404, 503, cache_control=PUBLIC_CACHE))
def get_course(slug: Annotated[str, Path(max_length=100)]) -> CourseDetailEnvelope:
    return CourseDetailEnvelope(course=views.course_detail(queries.load_outline(slug)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)


snapstart.prepare(app)  # Lambda SnapStart: prime before the snapshot, renew after each restore
