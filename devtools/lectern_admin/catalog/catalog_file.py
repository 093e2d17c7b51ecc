"""Reading a catalog YAML file (format: docs/catalog.md) into a `CatalogSpec`.

Validation collects every problem, each named by its field path
(`courses[1].modules[0].lessons[2].slug: must be a lowercase slug`), and
raises them together, so an operator fixes the file in one go and nothing is
written from a half-valid file.
"""
from __future__ import annotations

import difflib
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from lectern import clock
from lectern.catalog.queries import is_slug
from lectern_admin.catalog.apply import (
    CatalogSpec, CourseSpec, LessonSpec, ModuleSpec, ResourceSpec, safe_file_name,
)

_CURRENCY = re.compile(r"^[a-z]{3}$")
_VIDEO_ID = re.compile(r"^[0-9a-f]{32}$")  # a Cloudflare Stream video uid
_MIME_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+$")
_URL = re.compile(r"^https?://\S+$")
_RESOURCE_ID = re.compile(r"^[0-9a-hjkmnp-tv-z]{26}$")
# Thumbnails the storefront shows in <img>: by extension, since the content type is what S3 serves.
THUMBNAIL_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                   ".webp": "image/webp", ".avif": "image/avif", ".gif": "image/gif"}
THUMBNAIL_MAX_BYTES = 1024 * 1024
# Served from the storefront's own origin: an SVG opened on its own must not be able to run anything.
_ACTIVE_SVG = re.compile(rb"<script|<foreignObject|\son[a-z]+\s*=|javascript:", re.IGNORECASE)

_FIELDS = {
    "catalog": {"courses"},
    "course": {"slug", "title", "description", "thumbnail", "thumbnail_url", "price", "published", "published_at",
               "modules"},
    "price": {"amount", "currency"},
    "module": {"key", "title", "published", "lessons"},
    "lesson": {"slug", "title", "summary", "preview", "published", "video_id", "duration_seconds", "resources"},
    "resource": {"id", "name", "file", "mime_type"},
}


class CatalogFileError(Exception):
    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} problem(s) in the catalog file")
        self.errors = errors


def load_catalog(path: str | Path) -> CatalogSpec:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CatalogFileError([f"{path}: cannot read ({error.strerror or error})"]) from None
    except yaml.YAMLError as error:
        raise CatalogFileError([f"{path}: not valid YAML: {error}"]) from None
    return parse_catalog(document, base_dir=path.parent)


def parse_catalog(document: Any, *, base_dir: Path) -> CatalogSpec:
    """A validated CatalogSpec from parsed YAML; resource files are read relative to `base_dir`."""
    reader = _Reader(base_dir)
    spec = reader.catalog(document)
    if reader.errors:
        raise CatalogFileError(reader.errors)
    return spec


class _Reader:
    """Walks the document, converting what is valid and recording what is not."""

    def __init__(self, base_dir: Path):
        self.base_dir = base_dir
        self.errors: list[str] = []
        self.resource_ids: set[str] = set()

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    # -- levels

    def catalog(self, document: Any) -> CatalogSpec:
        data = self.mapping(document, "catalog", "catalog")
        courses = [self.course(item, f"courses[{i}]") for i, item in enumerate(self.items(data, "courses", ""))]
        self.no_duplicates([(c.slug, f"courses[{i}].slug") for i, c in enumerate(courses) if c])
        return CatalogSpec(courses=tuple(c for c in courses if c))

    def course(self, value: Any, where: str) -> CourseSpec | None:
        data = self.mapping(value, where, "course")
        if data is None:
            return None
        slug = self.slug(data, "slug", where)
        title = self.text(data, "title", where)
        description = self.text(data, "description", where, required=False) or ""
        thumbnail_url = self.url(data, "thumbnail_url", where)
        thumbnail = self.thumbnail(data, where)
        if thumbnail and thumbnail_url:
            self.error(f"{where}.thumbnail", "give either `thumbnail` (a file) or `thumbnail_url`, not both")
        price = self.price(data.get("price"), f"{where}.price")
        published = self.flag(data, "published", where, default=False)
        published_at = self.moment(data, "published_at", where)
        modules = [self.module(item, f"{where}.modules[{i}]")
                   for i, item in enumerate(self.items(data, "modules", where, required=False))]
        self.no_duplicates([(m.key, f"{where}.modules[{i}].key") for i, m in enumerate(modules) if m])
        # Lesson slugs are unique across the whole course (they name the lesson's URL). Read from the
        # raw document so the paths keep their indices even where a module or lesson was invalid.
        self.no_duplicates([(lesson.get("slug"), f"{where}.modules[{i}].lessons[{j}].slug")
                            for i, module in enumerate(_list(data.get("modules"))) if isinstance(module, dict)
                            for j, lesson in enumerate(_list(module.get("lessons"))) if isinstance(lesson, dict)])
        return CourseSpec(
            slug=slug, title=title or "", description=description, thumbnail_url=thumbnail_url, thumbnail=thumbnail,
            price_amount=price[0] if price else None, currency=price[1] if price else "usd",
            published=published, published_at=published_at, modules=tuple(m for m in modules if m),
        )

    def price(self, value: Any, where: str) -> tuple[int, str] | None:
        if value is None:
            return None  # not for sale
        data = self.mapping(value, where, "price")
        if data is None:
            return None
        amount = data.get("amount")
        if amount is None:
            self.error(f"{where}.amount", "is required (minor units, e.g. 4900 for 49.00)")
        elif not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            self.error(f"{where}.amount", "must be a whole number of minor units greater than 0 "
                                          "(leave out `price` for a course that is not for sale)")
        currency = data.get("currency")
        if currency is None:
            self.error(f"{where}.currency", "is required")
        elif not isinstance(currency, str) or not _CURRENCY.match(currency):
            self.error(f"{where}.currency", "must be a three-letter lowercase ISO 4217 code, e.g. usd")
        return amount, currency

    def module(self, value: Any, where: str) -> ModuleSpec | None:
        data = self.mapping(value, where, "module")
        if data is None:
            return None
        key = self.slug(data, "key", where)
        title = self.text(data, "title", where)
        published = self.flag(data, "published", where, default=True)
        lessons = [self.lesson(item, f"{where}.lessons[{i}]")
                   for i, item in enumerate(self.items(data, "lessons", where, required=False))]
        return ModuleSpec(key=key, title=title or "", published=published,
                          lessons=tuple(lesson for lesson in lessons if lesson))

    def lesson(self, value: Any, where: str) -> LessonSpec | None:
        data = self.mapping(value, where, "lesson")
        if data is None:
            return None
        slug = self.slug(data, "slug", where)
        title = self.text(data, "title", where)
        summary = self.text(data, "summary", where, required=False) or ""
        preview = self.flag(data, "preview", where, default=False)
        published = self.flag(data, "published", where, default=True)
        video_id = data.get("video_id")
        if video_id is not None and not (isinstance(video_id, str) and _VIDEO_ID.match(video_id)):
            self.error(f"{where}.video_id", "must be a Cloudflare Stream video uid (32 lowercase hex characters)")
        duration = data.get("duration_seconds")
        if duration is not None and (not isinstance(duration, int) or isinstance(duration, bool) or duration <= 0):
            self.error(f"{where}.duration_seconds", "must be a whole number of seconds greater than 0")
        resources = [self.resource(item, f"{where}.resources[{i}]")
                     for i, item in enumerate(self.items(data, "resources", where, required=False))]
        # A resource is known by its (S3-safe) file name within the lesson.
        self.no_duplicates([(safe_file_name(r.file_name), f"{where}.resources[{i}].file")
                            for i, r in enumerate(resources) if r])
        return LessonSpec(
            slug=slug, title=title or "", summary=summary, preview=preview, published=published,
            video_id=video_id, duration_seconds=duration, resources=tuple(r for r in resources if r),
        )

    def resource(self, value: Any, where: str) -> ResourceSpec | None:
        data = self.mapping(value, where, "resource")
        if data is None:
            return None
        name = self.text(data, "name", where, required=False)
        if name is not None and (not name or "/" in name or "\\" in name):
            self.error(f"{where}.name", "must be a file name (the learner downloads it under this name)")
        mime_type = self.text(data, "mime_type", where, required=False)
        if mime_type and not _MIME_TYPE.match(mime_type):
            self.error(f"{where}.mime_type", "must look like type/subtype, e.g. application/pdf")
        resource_id = self.text(data, "id", where, required=False)
        if resource_id is not None and not _RESOURCE_ID.match(resource_id):
            self.error(f"{where}.id", "must be a lower-case ULID (26 characters of 0-9 a-z without i, l, o, u)")
            resource_id = None
        elif resource_id is not None and resource_id in self.resource_ids:
            self.error(f"{where}.id", f"{resource_id} is used by another resource")
        elif resource_id is not None:
            self.resource_ids.add(resource_id)
        file = self.text(data, "file", where)
        if not file:
            return None
        path = self.base_dir / file
        if not path.is_file():
            self.error(f"{where}.file", f"no such file: {path}")
            return None
        return ResourceSpec.from_file(path, name=name, mime_type=mime_type, resource_id=resource_id)

    def thumbnail(self, data: dict[str, Any], where: str) -> ResourceSpec | None:
        file = self.text(data, "thumbnail", where, required=False)
        if not file:
            return None
        where = f"{where}.thumbnail"
        path = self.base_dir / file
        mime_type = THUMBNAIL_TYPES.get(path.suffix.lower())
        if mime_type is None:
            self.error(where, f"must be an image file ({', '.join(sorted(THUMBNAIL_TYPES))})")
            return None
        if not path.is_file():
            self.error(where, f"no such file: {path}")
            return None
        if path.stat().st_size > THUMBNAIL_MAX_BYTES:
            self.error(where, f"must be at most {THUMBNAIL_MAX_BYTES // 1024} KB")
            return None
        if mime_type == "image/svg+xml" and _ACTIVE_SVG.search(path.read_bytes()):
            self.error(where, "an SVG thumbnail must not contain scripts, event handlers or foreignObject")
            return None
        return ResourceSpec.from_file(path, mime_type=mime_type)

    # -- values

    def mapping(self, value: Any, where: str, kind: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(where, "must be a mapping" if value is not None else "is empty")
            return None
        for key in value:
            if key not in _FIELDS[kind]:
                close = difflib.get_close_matches(str(key), _FIELDS[kind], n=1)
                hint = f" (did you mean `{close[0]}`?)" if close else f" (known: {', '.join(sorted(_FIELDS[kind]))})"
                self.error(self.join(where if kind != "catalog" else "", str(key)), f"unknown field{hint}")
        return value

    def items(self, data: dict[str, Any] | None, key: str, where: str, *, required: bool = True) -> list[Any]:
        if data is None:
            return []
        value = data.get(key)
        if value is None:
            if required:
                self.error(self.join(where, key), "is required")
            return []
        if not isinstance(value, list):
            self.error(self.join(where, key), "must be a list")
            return []
        return value

    def text(self, data: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.error(self.join(where, key), "is required")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.error(self.join(where, key), "must be a non-empty string" if required else "must be a string")
            return None
        return value.strip()

    def slug(self, data: dict[str, Any], key: str, where: str) -> str:
        value = self.text(data, key, where)
        if value is not None and not is_slug(value):
            self.error(self.join(where, key), "must be a lowercase slug (a-z, 0-9 and inner dashes, at most 100)")
        return value or ""

    def flag(self, data: dict[str, Any], key: str, where: str, *, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.error(self.join(where, key), "must be true or false")
            return default
        return value

    def url(self, data: dict[str, Any], key: str, where: str) -> str | None:
        value = self.text(data, key, where, required=False)
        if value and not _URL.match(value):
            self.error(self.join(where, key), "must be an http(s) URL")
        return value or None

    def moment(self, data: dict[str, Any], key: str, where: str) -> str | None:
        """An ISO date or date-time (YAML may already have parsed it) as clock.iso() text."""
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                value = None
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        if not isinstance(value, datetime):
            self.error(self.join(where, key), "must be an ISO date (2025-03-01) or date-time (2025-03-01T09:00:00Z)")
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)  # a date-time without a zone means UTC
        return clock.iso(value)

    def no_duplicates(self, values: list[tuple[Any, str]]) -> None:
        first_seen: dict[str, str] = {}
        for value, where in values:
            if not value or not isinstance(value, str):
                continue  # missing or mistyped: reported where it is read
            if value in first_seen:
                self.error(where, f"duplicate `{value}` (first used at {first_seen[value]})")
            else:
                first_seen[value] = where

    @staticmethod
    def join(where: str, key: str) -> str:
        return f"{where}.{key}" if where else key


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
