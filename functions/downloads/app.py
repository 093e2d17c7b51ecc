"""Download function: GET /resources/{resource_id}/download → presigned S3 URL.

At most two DynamoDB requests when access is granted (lectern.learning.downloads).
"""
from __future__ import annotations  # the routes' pydantic annotations are read at build time only

import dataclasses
from typing import TYPE_CHECKING, Annotated

import lectern.powertools_imports  # noqa: F401, I001  (first of all: lectern/powertools_imports.py)
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths

from lectern import snapstart
from lectern.api.app import LecternResolver
from lectern.api.auth import SIGNED_IN, document_bearer_auth, require_user_id
from lectern.api.schemas import api_responses, response_headers
from lectern.learning import downloads
from lectern.learning.schemas import DownloadLink
from lectern.observability import logger, metrics, tracer

if TYPE_CHECKING:  # read by the OpenAPI and request-validator generators (lectern_dev.route_models)
    from aws_lambda_powertools.event_handler.openapi.params import Path

app = LecternResolver(cache_control="no-store")
document_bearer_auth(app)



def _wants_json() -> bool:
    return "application/json" in (app.current_event.headers.get("accept") or "").lower()


@app.get("/resources/<resource_id>/download", summary="Download a lesson resource", tags=["Learner"],
         security=SIGNED_IN,
         responses={
             **api_responses(200, DownloadLink, 401, 403, 404, 503,
                             description="With `Accept: application/json`: the presigned URL as JSON"),
             302: {"description": "Redirect (`Location`) to a presigned S3 URL valid for at most 300 s that "
                                  "downloads as an attachment named after the resource",
                   "headers": {**response_headers(), "Location": {
                       "description": "The presigned S3 URL", "required": True, "schema": {"type": "string"}}},
                   "content": {}}})
def download(resource_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]):
    # 302 or 200: both documented in `responses` above
    """Every attempt, granted or denied, is written to the user's access audit."""
    resource = downloads.authorize_download(require_user_id(app), resource_id)
    link = downloads.presigned_link(resource)
    if _wants_json():
        return Response(status_code=200, content_type="application/json", body=dataclasses.asdict(link))
    return Response(status_code=302, headers={"Location": link.url}, body="")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)


snapstart.prepare(app)  # Lambda SnapStart: prime before the snapshot, renew after each restore
