"""Catalog as code: make the catalog table and the assets bucket match a catalog description.

The description (a `CatalogSpec`) usually comes from a YAML file through
`lectern_admin.catalog.catalog_file`; this module knows nothing about YAML so the
tests and the local stack can build specs directly.

Identity is stable, so ids are generated once and reused by later applies:
a course by slug, a module by `key` within its course, a lesson by slug within
its course, a resource by (lesson slug, file name). Every field is compared
before writing, so applying the same description twice writes nothing.

A course's thumbnail file goes to the same bucket under `public/` (see
`thumbnail_key`), the one prefix the storefront's origin serves to everyone.

Nothing is ever deleted: a module, lesson or resource missing from the
description is unpublished (`is_published=False`), since orders, progress and
links may still point at it. A course missing from the description is left
alone unless `unpublish_missing` is set.

This is an operator tool, not a request path: it reads a course's whole
partition first and writes item by item. Creates are conditional on the item
not existing and updates on `updated_at` being what was read, so two applies
racing each other fail loudly instead of overwriting each other.
"""
from __future__ import annotations

import hashlib
import mimetypes
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from lectern import clock, config
from lectern.ids import new_id
from lectern.models.catalog import (
    PUBLISHED, CatalogItem, Course, CourseLesson, CourseModule, LessonResource, course_pk,
)
from lectern_admin.catalog.changes import CREATED, LEFT_ALONE, UNCHANGED, UNPUBLISHED, UPDATED, Change


# ---------------------------------------------------------------- the description


@dataclass(frozen=True)
class ResourceSpec:
    """A file to upload: a lesson's downloadable resource, or a course thumbnail."""

    name: str  # what the learner downloads it as
    file_name: str  # identity within the lesson (with the lesson slug)
    path: Path
    mime_type: str
    sha256: str
    size_bytes: int
    id: str | None = None  # the id a new resource gets (stable links, sample events); else a fresh one

    @classmethod
    def from_file(cls, path: Path, *, name: str | None = None, mime_type: str | None = None,
                  resource_id: str | None = None) -> ResourceSpec:
        data = path.read_bytes()
        return cls(
            name=name or path.name, file_name=path.name, path=path,
            mime_type=mime_type or guess_mime_type(path.name),
            sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), id=resource_id,
        )


@dataclass(frozen=True)
class LessonSpec:
    slug: str
    title: str
    summary: str = ""
    preview: bool = False
    published: bool = True
    video_id: str | None = None
    duration_seconds: int | None = None
    resources: tuple[ResourceSpec, ...] = ()


@dataclass(frozen=True)
class ModuleSpec:
    key: str
    title: str
    published: bool = True
    lessons: tuple[LessonSpec, ...] = ()


@dataclass(frozen=True)
class CourseSpec:
    slug: str
    title: str
    description: str = ""
    thumbnail_url: str | None = None  # an image hosted elsewhere
    thumbnail: ResourceSpec | None = None  # an image file, uploaded and served under public/
    price_amount: int | None = None  # minor units; None = not for sale
    currency: str = "usd"
    published: bool = False
    published_at: str | None = None  # clock.iso() format; None = keep the stored one, or now
    modules: tuple[ModuleSpec, ...] = ()

    def published_modules(self) -> list[ModuleSpec]:
        return [module for module in self.modules if module.published]

    def published_lesson_count(self) -> int:
        """Same rule as the read side: published lessons inside published modules."""
        return sum(1 for module in self.published_modules() for lesson in module.lessons if lesson.published)


@dataclass(frozen=True)
class CatalogSpec:
    courses: tuple[CourseSpec, ...]


def guess_mime_type(file_name: str) -> str:
    return mimetypes.guess_type(file_name)[0] or "application/octet-stream"


def safe_file_name(file_name: str) -> str:
    """An S3-key-friendly ASCII version of a file name: `résumé checklist.txt` → `resume-checklist.txt`."""
    ascii_name = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-.") or "file"


def storage_key(course_id: str, resource_id: str, file_name: str) -> str:
    return f"courses/{course_id}/resources/{resource_id}/{safe_file_name(file_name)}"


PUBLIC_PREFIX = "public/"
# The key names the bytes (content hash), so a cached copy is never stale and may be kept for a year.
PUBLIC_CACHE_CONTROL = "public, max-age=31536000, immutable"


def thumbnail_key(course_id: str, thumbnail: ResourceSpec) -> str:
    """`public/thumbnails/<course id>/<sha256 prefix>.<ext>`: a new image gets a new key, hence a new URL."""
    extension = Path(safe_file_name(thumbnail.file_name)).suffix.lower()
    return f"{PUBLIC_PREFIX}thumbnails/{course_id}/{thumbnail.sha256[:16]}{extension}"


# ---------------------------------------------------------------- the report


@dataclass
class ApplyReport:
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    stripe_changes: list[Change] = field(default_factory=list)
    stripe_status: str = "not run"  # "synced", or why it was skipped
    courses: list[Course] = field(default_factory=list)  # as written (or as they would be, in a dry run)

    def counts(self) -> Counter[str]:
        return Counter(change.action for change in self.changes)

    @property
    def changed(self) -> bool:
        return any(change.action not in (UNCHANGED, LEFT_ALONE) for change in self.changes + self.stripe_changes)


class ConcurrentChange(RuntimeError):
    """An item changed between our read and our write: someone else is applying too."""


# ---------------------------------------------------------------- applying


def apply_catalog(
    catalog: CatalogSpec, *, dry_run: bool = False, stripe: bool = True, unpublish_missing: bool = False,
) -> ApplyReport:
    """Bring the catalog table, the assets bucket and (unless `stripe=False`) Stripe in line with `catalog`."""
    applier = _Applier(dry_run=dry_run)
    for course_spec in catalog.courses:
        applier.report.courses.append(applier.apply_course(course_spec))
    applier.handle_missing_courses({course.slug for course in catalog.courses}, unpublish=unpublish_missing)
    _sync_stripe(applier.report, enabled=stripe)
    return applier.report


def _sync_stripe(report: ApplyReport, *, enabled: bool) -> None:
    if enabled:
        from lectern_admin.catalog import price_sync  # imports the Stripe SDK: only paid for when used

        if price_sync.is_configured():
            report.stripe_changes = price_sync.sync_prices(report.courses, dry_run=report.dry_run)
            report.stripe_status = "checked (dry run)" if report.dry_run else "synced"
            return
    reason = "no Stripe key configured: set STRIPE_SECRET_KEY" if enabled else "--no-stripe"
    # Checkout sells a course through its Stripe price, so say which courses cannot be bought yet.
    unsellable = [c.slug for c in report.courses if c.price_amount is not None and not c.stripe_price_id]
    report.stripe_status = f"skipped ({reason})" + (
        f"; no Stripe price yet, so not purchasable: {', '.join(unsellable)}" if unsellable else "")


class _Applier:
    def __init__(self, *, dry_run: bool):
        self.dry_run = dry_run
        self.now = clock.iso()
        self.report = ApplyReport(dry_run=dry_run)
        self._s3 = None

    # -- one course and everything inside it

    def apply_course(self, spec: CourseSpec) -> Course:
        existing = list(CatalogItem.query(course_pk(spec.slug), consistent_read=True))
        course = next((item for item in existing if isinstance(item, Course)), None)
        modules = [item for item in existing if isinstance(item, CourseModule)]
        lessons = [item for item in existing if isinstance(item, CourseLesson)]
        resources = [item for item in existing if isinstance(item, LessonResource)]

        # The course's own line goes first in the report, though the course is written last.
        course_change_at = len(self.report.changes)
        created = course is None
        if created:
            course_id = new_id()
            course = self._new(Course, course_pk(spec.slug), Course.sort_key(), course_id)
            course.course_id = course_id  # a course is its own course
        self._upload_thumbnail(spec, course)  # in the bucket before any item points at it
        if created:
            # Claim the slug first, unpublished, so a racing apply fails here instead of
            # both filling the same partition; it becomes visible once its content is in.
            self._write(course, {**self._course_fields(spec, course), "is_published": False,
                                 "gsi1pk": None, "gsi1sk": None}, created=True)

        module_ids = self._apply_modules(spec, course, modules)
        lesson_ids = self._apply_lessons(spec, course, lessons, module_ids)
        self._apply_resources(spec, course, resources, lessons, lesson_ids, module_ids)

        action, fields = self._reconcile(course, self._course_fields(spec, course))
        if created:
            action, fields = CREATED, ()
        self.report.changes.insert(course_change_at, Change(spec.slug, "course", spec.slug, action, fields))
        return course

    def _course_fields(self, spec: CourseSpec, course: Course) -> dict[str, Any]:
        # An explicit date wins; otherwise the first publication date sticks, so re-applying is a no-op.
        published_at = spec.published_at or course.published_at or (self.now if spec.published else None)
        return {
            "slug": spec.slug, "title": spec.title, "description": spec.description,
            "thumbnail_url": spec.thumbnail_url,
            "thumbnail_key": thumbnail_key(course.id, spec.thumbnail) if spec.thumbnail else None,
            "price_amount": spec.price_amount,
            "currency": spec.currency, "is_published": spec.published, "published_at": published_at,
            "module_count": len(spec.published_modules()), "lesson_count": spec.published_lesson_count(),
            # gsi1 is sparse: only published courses are listed.
            "gsi1pk": PUBLISHED if spec.published else None,
            "gsi1sk": f"{published_at}#{course.id}" if spec.published else None,
        }

    def _upload_thumbnail(self, spec: CourseSpec, course: Course) -> None:
        # The key changes exactly when the bytes do, so an unchanged key means nothing to upload.
        if spec.thumbnail and course.thumbnail_key != thumbnail_key(course.id, spec.thumbnail):
            self._upload(thumbnail_key(course.id, spec.thumbnail), spec.thumbnail,
                         cache_control=PUBLIC_CACHE_CONTROL)

    def _apply_modules(self, spec: CourseSpec, course: Course, existing: list[CourseModule]) -> dict[str, str]:
        by_key = {module.key: module for module in existing if module.key}
        ids: dict[str, str] = {}
        for position, module_spec in enumerate(spec.modules):
            module = by_key.get(module_spec.key)
            desired = {"key": module_spec.key, "title": module_spec.title, "sort_order": position,
                       "is_published": module_spec.published}
            module = self._upsert(spec.slug, "module", module_spec.key, module, CourseModule, "MODULE", course,
                                  desired)
            ids[module_spec.key] = module.id
        leftovers = [m for m in existing if m.key not in ids]
        self._unpublish_leftovers(spec.slug, "module", leftovers, lambda m: m.key or m.id)
        return ids

    def _apply_lessons(self, spec: CourseSpec, course: Course, existing: list[CourseLesson],
                       module_ids: dict[str, str]) -> dict[str, str]:
        by_slug = {lesson.slug: lesson for lesson in existing}
        ids: dict[str, str] = {}
        for module_spec in spec.modules:
            for position, lesson_spec in enumerate(module_spec.lessons):
                desired = {
                    "module_id": module_ids[module_spec.key], "slug": lesson_spec.slug,
                    "title": lesson_spec.title, "summary": lesson_spec.summary, "sort_order": position,
                    "is_preview": lesson_spec.preview, "is_published": lesson_spec.published,
                    "stream_video_id": lesson_spec.video_id, "duration_seconds": lesson_spec.duration_seconds,
                }
                lesson = self._upsert(spec.slug, "lesson", lesson_spec.slug, by_slug.get(lesson_spec.slug),
                                      CourseLesson, "LESSON", course, desired)
                ids[lesson_spec.slug] = lesson.id
        leftovers = [lesson for lesson in existing if lesson.slug not in ids]
        self._unpublish_leftovers(spec.slug, "lesson", leftovers, lambda lesson: lesson.slug)
        return ids

    def _apply_resources(self, spec: CourseSpec, course: Course, existing: list[LessonResource],
                         lessons: list[CourseLesson], lesson_ids: dict[str, str],
                         module_ids: dict[str, str]) -> None:
        lesson_slugs = {lesson.id: lesson.slug for lesson in lessons}

        def identity(resource: LessonResource) -> tuple[str | None, str]:
            # The file name is kept (made S3-safe) as the last segment of the storage key.
            return lesson_slugs.get(resource.lesson_id), resource.storage_key.rsplit("/", 1)[-1]

        by_identity = {identity(resource): resource for resource in existing}
        seen: set[tuple[str | None, str]] = set()
        for module_spec in spec.modules:
            for lesson_spec in module_spec.lessons:
                for position, resource_spec in enumerate(lesson_spec.resources):
                    key = (lesson_spec.slug, safe_file_name(resource_spec.file_name))
                    seen.add(key)
                    resource = by_identity.get(key)
                    resource_id = resource.id if resource else (resource_spec.id or new_id())
                    desired = {
                        "lesson_id": lesson_ids[lesson_spec.slug], "module_id": module_ids[module_spec.key],
                        "course_slug": spec.slug,
                        "name": resource_spec.name,
                        "storage_key": storage_key(course.id, resource_id, resource_spec.file_name),
                        "mime_type": resource_spec.mime_type, "size_bytes": resource_spec.size_bytes,
                        "sha256": resource_spec.sha256, "sort_order": position, "is_published": True,
                        "gsi1pk": f"RESOURCE#{resource_id}", "gsi1sk": "RESOURCE",
                    }
                    label = f"{lesson_spec.slug}/{resource_spec.name}"
                    self._upsert(spec.slug, "resource", label, resource, LessonResource, "RESOURCE", course,
                                 desired, item_id=resource_id, upload=resource_spec)
        leftovers = [resource for resource in existing if identity(resource) not in seen]
        self._unpublish_leftovers(spec.slug, "resource", leftovers,
                                  lambda r: f"{lesson_slugs.get(r.lesson_id, '?')}/{r.name}")

    # -- courses that are no longer in the description

    def handle_missing_courses(self, slugs_in_file: set[str], *, unpublish: bool) -> None:
        courses = CatalogItem.scan(CatalogItem.sk == Course.sort_key())
        for course in sorted((c for c in courses if isinstance(c, Course)), key=lambda c: c.slug):
            if course.slug in slugs_in_file:
                continue
            if not unpublish:
                note = "published" if course.is_published else "not published"
                self.report.changes.append(Change(course.slug, "course", course.slug, LEFT_ALONE, note=note))
                continue
            action, fields = self._reconcile(course, {"is_published": False, "gsi1pk": None, "gsi1sk": None})
            self.report.changes.append(Change(course.slug, "course", course.slug, action, fields))

    # -- item plumbing

    def _new(self, model: type[CatalogItem], pk: str, sk: str, item_id: str) -> Any:
        return model(pk, sk, id=item_id, created_at=self.now, updated_at=self.now)

    def _upsert(self, course_slug: str, kind: str, label: str, item: CatalogItem | None, model: type[CatalogItem],
                sk_prefix: str, course: Course, desired: dict[str, Any], *, item_id: str | None = None,
                upload: ResourceSpec | None = None) -> Any:
        """Create `item` or bring it in line with `desired`; record what happened."""
        if item is None:
            item_id = item_id or new_id()
            item = self._new(model, course.pk, f"{sk_prefix}#{item_id}", item_id)
            item.course_id = course.id
            if upload:
                self._upload(desired["storage_key"], upload)
            self._write(item, desired, created=True)
            self.report.changes.append(Change(course_slug, kind, label, CREATED))
            return item
        # Upload before the item points at the new bytes, and only when they changed.
        if upload and item.sha256 != upload.sha256:
            self._upload(desired["storage_key"], upload)
        action, fields = self._reconcile(item, desired)
        self.report.changes.append(Change(course_slug, kind, label, action, fields))
        return item

    def _unpublish_leftovers(self, course_slug: str, kind: str, items: list[Any],
                             label: Callable[[Any], str]) -> None:
        for item in sorted(items, key=lambda i: (i.sort_order, i.id)):
            action, fields = self._reconcile(item, {"is_published": False})
            if action != UNCHANGED:  # long-unpublished leftovers are not news
                self.report.changes.append(Change(course_slug, kind, label(item), action, fields))

    def _reconcile(self, item: Any, desired: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
        """Write the attributes of `item` that differ from `desired`; say what kind of change it was."""
        changed = tuple(name for name, value in desired.items() if getattr(item, name) != value)
        if not changed:
            return UNCHANGED, ()
        was_published = item.is_published
        self._write(item, {name: desired[name] for name in changed}, created=False)
        return (UNPUBLISHED if was_published and not item.is_published else UPDATED), changed

    def _write(self, item: Any, values: dict[str, Any], *, created: bool) -> None:
        """Set `values` on `item` and, unless this is a dry run, store them."""
        read_updated_at = item.updated_at
        for name, value in values.items():
            setattr(item, name, value)
        item.updated_at = self.now
        if self.dry_run:
            return
        try:
            if created:
                item.save(condition=CatalogItem.pk.does_not_exist())
            else:
                # Update only what changed, so attributes this tool does not manage (Stripe ids) survive.
                attributes = type(item).get_attributes()
                actions = [attributes[name].set(value) if value is not None else attributes[name].remove()
                           for name, value in {**values, "updated_at": self.now}.items()]
                item.update(actions=actions, condition=CatalogItem.updated_at == read_updated_at)
        except (PutError, UpdateError) as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise ConcurrentChange(f"{item.pk} {item.sk} changed while applying; run the apply again") from None
            raise

    def _upload(self, key: str, resource: ResourceSpec, *, cache_control: str | None = None) -> None:
        if self.dry_run:
            return
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3", region_name=config.region())
        self._s3.put_object(
            Bucket=config.assets_bucket(), Key=key, Body=resource.path.read_bytes(),
            ContentType=resource.mime_type, Metadata={"sha256": resource.sha256},
            **({"CacheControl": cache_control} if cache_control else {}),
        )
