"""Lesson resource downloads: find, authorize (audited), presign.

DynamoDB budget: two requests on every path that grants access.
  1. Query gsi1 `RESOURCE#<id>` → the resource (course, module, lesson, storage key).
  2. TransactWriteItems (lectern.learning.access.authorize): entitlement active,
     course, module and lesson still published (the lesson still in that module),
     AccessAudit "granted" put.
A denial costs one more PutItem (the "denied" audit record). A resource written
before resources carried their module id costs a GetItem of its lesson first.

Hidden means hidden: an unknown resource and one that is unpublished or sits in
an unpublished lesson, module or course get the same 404, word for word.
"""
import re
import unicodedata
from datetime import timedelta
from functools import lru_cache
from urllib.parse import quote

import boto3
from botocore.config import Config
from pynamodb.exceptions import DoesNotExist

from lectern import config
from lectern.clock import iso, utcnow
from lectern.errors import NotFound
from lectern.learning import access
from lectern.learning.schemas import DownloadLink
from lectern.models import catalog
from lectern.models.catalog import CatalogItem, Course, CourseLesson, CourseModule, LessonResource, course_pk

config.require("ASSETS_BUCKET")  # at import: the download function does not start without its bucket

URL_SECONDS = 300  # the contract's ceiling: a leaked link dies within five minutes
_UNSAFE_ASCII = re.compile(r'[^A-Za-z0-9._ ()\[\]+-]')
# RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else is percent-encoded.
_ATTR_CHARS = "!#$&+-.^_`|~"


@lru_cache(maxsize=1)
def _s3():
    # SigV4 explicitly: presigned URLs for SSE buckets and every region need it.
    return boto3.client("s3", region_name=config.region(), config=Config(signature_version="s3v4"))


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback `filename` and the exact UTF-8 `filename*` (RFC 6266/5987)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = " ".join(_UNSAFE_ASCII.sub("_", ascii_name).split()).strip(" .") or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"


def find_resource(resource_id: str) -> LessonResource | None:
    return catalog.resource_by_id(resource_id)


def _module_of(resource: LessonResource) -> str | None:
    """The module the resource's lesson is in: on the resource, or (items older than that field) on the lesson."""
    if resource.module_id:
        return resource.module_id
    try:
        lesson = CatalogItem.get(course_pk(resource.course_slug), catalog.lesson_sk(resource.lesson_id))
    except DoesNotExist:
        return None
    return lesson.module_id if isinstance(lesson, CourseLesson) else None


def authorize_download(user_id: str, resource_id: str) -> LessonResource:
    target = f"resource/{resource_id}"
    resource = find_resource(resource_id)
    module_id = _module_of(resource) if resource is not None and resource.is_published else None
    if module_id is None:
        access.record_denial(user_id, access.DOWNLOAD, target, "not_found")
        raise NotFound()  # the same words as every other "not found": nothing tells hidden from unknown
    pk = course_pk(resource.course_slug)
    access.authorize(user_id, resource.course_id, action=access.DOWNLOAD, target=target, published=(
        access.MustBePublished(Course, pk, Course.sort_key()),
        access.MustBePublished(CourseModule, pk, catalog.module_sk(module_id)),
        access.MustBePublished(CourseLesson, pk, catalog.lesson_sk(resource.lesson_id), module_id=module_id),
    ))
    return resource


def presigned_link(resource: LessonResource) -> DownloadLink:
    expires_at = iso(utcnow() + timedelta(seconds=URL_SECONDS))
    url = _s3().generate_presigned_url("get_object", ExpiresIn=URL_SECONDS, Params={
        "Bucket": config.assets_bucket(), "Key": resource.storage_key,
        "ResponseContentDisposition": content_disposition(resource.name),
        "ResponseContentType": resource.mime_type,
    })
    return DownloadLink(url=url, expires_at=expires_at)
