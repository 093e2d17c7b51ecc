"""Progress function: the player's heartbeat (PUT .../progress), the learner's certificates and
their public verification.

A function of its own because it issues certificates: their PDF is made with fpdf2 (and fontTools),
which only this function's layer (CertificateLayer) carries; beside the learner's cryptography it
would not fit the 40 MB a function may unzip to (docs/performance.md).
Answers are personal or about one person: nothing may be cached (`no-store`).
"""
from __future__ import annotations  # the routes' pydantic annotations are read at build time only

from typing import TYPE_CHECKING, Annotated

import lectern.powertools_imports  # noqa: F401, I001  (first of all: lectern/powertools_imports.py)
from aws_lambda_powertools.logging import correlation_paths
from lectern import snapstart
from lectern.api.app import LecternResolver
from lectern.api.auth import SIGNED_IN, document_bearer_auth, require_user_id
from lectern.api.schemas import api_responses
from lectern.learning import certificates, heartbeat
from lectern.learning.schemas import CertificateEnvelope, CertificateList, ProgressEnvelope
from lectern.observability import logger, metrics, tracer

if TYPE_CHECKING:  # read by the OpenAPI and request-validator generators (lectern_dev.route_models)
    from aws_lambda_powertools.event_handler.openapi.params import Body, Path
    from lectern.learning.request_models import ProgressRequest

app = LecternResolver(cache_control="no-store")
document_bearer_auth(app)

_TAGS = ["Learner"]


@app.put("/learn/<course_slug>/lessons/<lesson_slug>/progress", summary="Record the player's position in a lesson",
         tags=_TAGS, security=SIGNED_IN,
         responses=api_responses(200, ProgressEnvelope, 400, 401, 403, 404, 503, description="The lesson's progress"))
def save_progress(course_slug: Annotated[str, Path(max_length=100)], lesson_slug: Annotated[str, Path(max_length=100)],
                  body: Annotated[ProgressRequest, Body()]) -> ProgressEnvelope:
    """The player's heartbeat, also sent when a lesson opens (that records it). The lesson is completed
    when `completed` is true or the position reaches 90 % of its duration, and stays completed. Completing
    the last published lesson of the course issues the learner's certificate. 403 `not_entitled` without
    an active entitlement; 404 for an unknown or hidden course or lesson."""
    user_id = require_user_id(app)
    return heartbeat.save(user_id, course_slug, lesson_slug, position_seconds=body.position_seconds,
                          completed=body.completed)


@app.get("/me/certificates", summary="The user's certificates of completion, newest first", tags=_TAGS,
         security=SIGNED_IN, responses=api_responses(200, CertificateList, 401, 503))
def my_certificates() -> CertificateList:
    """`download_url` is a presigned link to the PDF, valid for at most 300 s: ask again for a fresh one."""
    return certificates.mine(require_user_id(app))


@app.get("/certificates/<code>", summary="Verify a certificate (public)", tags=["Certificates"],
         responses=api_responses(200, CertificateEnvelope, 404, 503))
def verify_certificate(code: Annotated[str, Path(max_length=64)]) -> CertificateEnvelope:
    """No sign-in: anyone holding the code sees the certificate and whether it is still `valid`."""
    return certificates.verify(code)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)


# Lambda SnapStart: prime before the snapshot, renew after each restore. The heartbeat is primed past its
# validation (signed in as nobody, a lesson of no course: a 404 after its reads, answered in memory).
snapstart.prepare(app, bodies={
    ("PUT", "/learn/<course_slug>/lessons/<lesson_slug>/progress"): {"position_seconds": 0},
})
