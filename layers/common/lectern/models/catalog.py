"""Catalog table: courses, course_modules, course_lessons, lesson_resources.

A course and everything inside it share one partition (`pk = COURSE#<slug>`),
so the whole outline comes back from one Query. Sort keys tell the kinds
apart; a discriminator attribute lets one Query return typed objects.

gsi1 is overloaded and sparse:
- published courses: gsi1pk = "PUBLISHED", gsi1sk = "<published_at>#<id>" (newest first);
- resources by id: gsi1pk = "RESOURCE#<id>", gsi1sk = "RESOURCE" (download route).
"""
from pynamodb.attributes import (
    BooleanAttribute, DiscriminatorAttribute, NumberAttribute, UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from lectern.models.base import LecternModel, meta

PUBLISHED = "PUBLISHED"


def course_pk(slug: str) -> str:
    return f"COURSE#{slug}"


class CatalogIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class CatalogItem(LecternModel):
    Meta = meta("CATALOG_TABLE")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    by_gsi1 = CatalogIndex()

    id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class Course(CatalogItem, discriminator="course"):
    """sk = "COURSE". Counts are kept on the item so listing needs no second read."""

    slug = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    thumbnail_url = UnicodeAttribute(null=True)  # an image hosted elsewhere
    thumbnail_key = UnicodeAttribute(null=True)  # an uploaded image: public/... in the assets bucket
    price_amount = NumberAttribute(null=True)  # minor units; None = not for sale
    currency = UnicodeAttribute(default="usd")
    is_published = BooleanAttribute(default=False)
    published_at = UnicodeAttribute(null=True)
    module_count = NumberAttribute(default=0)
    lesson_count = NumberAttribute(default=0)
    stripe_product_id = UnicodeAttribute(null=True)
    stripe_price_id = UnicodeAttribute(null=True)

    @staticmethod
    def sort_key() -> str:
        return "COURSE"


class CourseModule(CatalogItem, discriminator="module"):
    """sk = "MODULE#<id>"."""

    title = UnicodeAttribute()
    sort_order = NumberAttribute(default=0)
    is_published = BooleanAttribute(default=True)
    key = UnicodeAttribute(null=True)  # stable identity within the course, set by `catalog apply`


class CourseLesson(CatalogItem, discriminator="lesson"):
    """sk = "LESSON#<id>". `stream_video_id` never leaves a public route."""

    module_id = UnicodeAttribute()
    slug = UnicodeAttribute()
    title = UnicodeAttribute()
    summary = UnicodeAttribute(default="")
    sort_order = NumberAttribute(default=0)
    is_preview = BooleanAttribute(default=False)
    is_published = BooleanAttribute(default=True)
    stream_video_id = UnicodeAttribute(null=True)
    duration_seconds = NumberAttribute(null=True)


class LessonResource(CatalogItem, discriminator="resource"):
    """sk = "RESOURCE#<id>"; findable by id through gsi1. `storage_key` is private."""

    lesson_id = UnicodeAttribute()
    # The lesson's module, so a download can check in its one transaction that the module is published
    # too (written by `catalog apply`; items written before it had one are looked up through the lesson).
    module_id = UnicodeAttribute(null=True)
    course_slug = UnicodeAttribute()
    name = UnicodeAttribute()
    storage_key = UnicodeAttribute()
    mime_type = UnicodeAttribute()
    size_bytes = NumberAttribute()
    sort_order = NumberAttribute(default=0)
    is_published = BooleanAttribute(default=True)
    sha256 = UnicodeAttribute(null=True)  # of the stored file; `catalog apply` re-uploads only when it changes


# ------------------------------------------------------------------ access patterns (docs/data-model.md)

def module_sk(module_id: str) -> str:
    return f"MODULE#{module_id}"


def lesson_sk(lesson_id: str) -> str:
    return f"LESSON#{lesson_id}"


def resource_by_id(resource_id: str) -> "LessonResource | None":
    """#3: a resource by its id (gsi1), whatever course it is in."""
    for item in CatalogItem.by_gsi1.query(f"RESOURCE#{resource_id}", CatalogItem.gsi1sk == "RESOURCE", limit=1):
        if isinstance(item, LessonResource):
            return item
    return None
