"""Catalog as code: `python -m lectern_admin catalog apply` and lectern_admin.catalog.apply.

What is checked is what the read side sees (lectern.catalog.queries), what
lands in S3, and how many writes an apply makes (none when nothing changed).
"""
import json
import shutil
from pathlib import Path

import boto3
import pytest
import yaml

from lectern import config
from lectern.catalog.queries import list_published, load_outline
from lectern.errors import NotFound
from lectern.models.catalog import CatalogItem, Course, CourseLesson, CourseModule, LessonResource, course_pk
from lectern_admin.__main__ import main
from lectern_admin.catalog.apply import CREATED, LEFT_ALONE, UNCHANGED, UNPUBLISHED, UPDATED, apply_catalog
from lectern_admin.catalog.catalog_file import CatalogFileError, load_catalog
from support.request_counter import count_requests

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "catalog" / "demo.yaml"
READ_PREFIXES = ("Get", "List", "Query", "Scan", "Describe", "Head")


def writes(counter) -> list[tuple[str, str]]:
    return [(service, op) for service, op in counter.calls if not op.startswith(READ_PREFIXES)]


def apply(path: Path = DEMO, **kwargs):
    kwargs.setdefault("stripe", False)
    return apply_catalog(load_catalog(path), **kwargs)


def items(slug: str) -> list[CatalogItem]:
    return list(CatalogItem.query(course_pk(slug), consistent_read=True))


def of_kind(slug: str, kind: type) -> dict[str, CatalogItem]:
    """Items of one kind in a course, by their identity in the file."""
    key = {Course: "slug", CourseModule: "key", CourseLesson: "slug", LessonResource: "name"}[kind]
    return {getattr(item, key): item for item in items(slug) if isinstance(item, kind)}


@pytest.fixture
def catalog_copy(tmp_path) -> Path:
    """An editable copy of the demo catalog and its files."""
    shutil.copy(DEMO, tmp_path / "demo.yaml")
    shutil.copytree(DEMO.parent / "files", tmp_path / "files")
    return tmp_path / "demo.yaml"


def edit(path: Path, change) -> None:
    # Through JSON: SAM CLI (imported by the test set-up) makes PyYAML load OrderedDicts, which safe_dump refuses.
    data = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def course_of(data: dict, slug: str) -> dict:
    return next(course for course in data["courses"] if course["slug"] == slug)


def lessons_of(course: dict) -> list[dict]:
    return [lesson for module in course["modules"] for lesson in module["lessons"]]


# ---------------------------------------------------------------- first apply


def test_demo_catalog_is_what_the_read_side_serves(aws):
    report = apply()
    assert set(report.counts()) == {CREATED}

    document = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    published = sorted((c for c in document["courses"] if c["published"]),
                       key=lambda c: str(c["published_at"]), reverse=True)
    courses, cursor = list_published(50, None)
    assert [c.slug for c in courses] == [c["slug"] for c in published]  # newest first, drafts hidden
    assert cursor is None
    for course, expected in zip(courses, published):
        modules = [m for m in expected["modules"] if m.get("published", True)]
        lessons = [lesson for m in modules for lesson in m["lessons"] if lesson.get("published", True)]
        assert (course.module_count, course.lesson_count) == (len(modules), len(lessons))
        assert course.price_amount == (expected.get("price") or {}).get("amount")

        outline = load_outline(course.slug)
        assert [m.title for m in outline.modules] == [m["title"] for m in modules]
        assert [lesson.slug for lesson in outline.published_lessons()] == [lesson["slug"] for lesson in lessons]
        by_slug = {lesson.slug: lesson for lesson in outline.published_lessons()}
        for lesson in lessons:
            stored = by_slug[lesson["slug"]]
            assert stored.is_preview == lesson.get("preview", False)
            assert stored.stream_video_id == lesson.get("video_id")
            assert [r.name for r in outline.resources.get(stored.id, [])] == [
                r["name"] for r in lesson.get("resources", [])]

    with pytest.raises(NotFound):
        load_outline("watercolour-basics")  # the unpublished draft
    draft = of_kind("watercolour-basics", Course)["watercolour-basics"]
    assert draft.gsi1pk is None and draft.gsi1sk is None  # sparse index: not listed at all
    assert (draft.module_count, draft.lesson_count) == (2, 4)  # the unpublished lesson is not counted


def test_public_routes_serve_the_applied_catalog(api):
    apply()
    listed = api.get("/courses")["json"]["courses"]
    assert [c["slug"] for c in listed] == [
        "practical-sql-for-analysts", "serverless-python-on-aws", "command-line-fundamentals"]
    detail = api.get("/courses/serverless-python-on-aws")["json"]["course"]
    assert detail["price"] == {"amount": 7900, "currency": "usd"}
    assert [m["title"] for m in detail["modules"]] == ["Foundations", "Data with DynamoDB", "Shipping it"]
    assert [lesson["sort_order"] for lesson in detail["modules"][0]["lessons"]] == [0, 1, 2]
    assert api.get("/courses/watercolour-basics")["statusCode"] == 404


def test_resource_files_are_uploaded_byte_for_byte(aws):
    apply()
    s3 = boto3.client("s3")
    resources = [r for slug in ("serverless-python-on-aws", "practical-sql-for-analysts", "watercolour-basics")
                 for r in of_kind(slug, LessonResource).values()] + [
        r for r in items("practical-sql-for-analysts") if isinstance(r, LessonResource)]
    assert len({r.id for r in resources}) == 9
    for resource in resources:
        stored = s3.get_object(Bucket=config.assets_bucket(), Key=resource.storage_key)
        data = (DEMO.parent / "files" / resource.name).read_bytes()
        assert stored["Body"].read() == data
        assert resource.size_bytes == len(data)
        assert stored["ContentType"] == resource.mime_type
        assert resource.storage_key == f"courses/{resource.course_id}/resources/{resource.id}/" + (
            resource.storage_key.rsplit("/", 1)[1])
        assert resource.gsi1pk == f"RESOURCE#{resource.id}"

    by_name = {r.name: r for r in resources}
    assert by_name["sam-deploy-checklist.pdf"].mime_type == "application/pdf"
    assert by_name["monthly_sales.csv"].mime_type == "text/csv"
    resume = by_name["résumé-checklist.txt"]  # the learner downloads it under its real name...
    assert resume.storage_key.endswith("/resume-checklist.txt")  # ...stored under an ASCII key
    assert resume.mime_type == "text/plain"


def test_dry_run_reports_but_writes_nothing(aws):
    with count_requests() as counter:
        report = apply(dry_run=True)
    assert writes(counter) == []
    assert report.counts()[CREATED] > 0
    assert list_published(50, None)[0] == []


# ---------------------------------------------------------------- re-applying


def test_applying_the_same_file_twice_writes_nothing(aws):
    first = apply()
    with count_requests() as counter:
        second = apply()
    assert writes(counter) == []
    assert set(second.counts()) == {UNCHANGED}
    assert sum(second.counts().values()) == sum(first.counts().values())
    assert not second.changed


def test_edits_update_in_place_and_removals_unpublish(aws, catalog_copy):
    apply(catalog_copy)
    before = {kind: of_kind("serverless-python-on-aws", kind) for kind in (CourseModule, CourseLesson)}
    sql_price_before = of_kind("practical-sql-for-analysts", Course)["practical-sql-for-analysts"].price_amount

    def change(data):
        serverless = course_of(data, "serverless-python-on-aws")
        serverless["modules"][0]["lessons"][0]["title"] = "Serverless, explained"
        serverless["modules"][1]["lessons"] = [
            lesson for lesson in serverless["modules"][1]["lessons"] if lesson["slug"] != "testing-with-moto"]
        # Move a lesson to another module: same lesson, same id.
        moved = serverless["modules"][2]["lessons"].pop()
        serverless["modules"][0]["lessons"].append(moved)
        course_of(data, "practical-sql-for-analysts")["price"]["amount"] = 5900

    edit(catalog_copy, change)
    (catalog_copy.parent / "files" / "sam-deploy-checklist.pdf").write_bytes(b"%PDF-1.4\n% changed\n")
    with count_requests() as counter:
        report = apply(catalog_copy)

    changes = {(c.kind, c.label): c for c in report.changes}
    assert changes["lesson", "what-serverless-really-means"].action == UPDATED
    assert changes["lesson", "what-serverless-really-means"].fields == ("title",)
    assert changes["lesson", "testing-with-moto"].action == UNPUBLISHED
    assert changes["lesson", "observability-basics"].fields == ("module_id", "sort_order")
    assert changes["resource", "deploying-with-sam/sam-deploy-checklist.pdf"].fields == ("size_bytes", "sha256")
    assert changes["course", "practical-sql-for-analysts"].fields == ("price_amount",)
    assert changes["course", "serverless-python-on-aws"].fields == ("lesson_count",)
    assert changes["course", "watercolour-basics"].action == UNCHANGED
    assert [op for _, op in writes(counter)].count("PutObject") == 1  # only the changed file

    lessons = of_kind("serverless-python-on-aws", CourseLesson)
    assert {slug: lesson.id for slug, lesson in lessons.items()} == {
        slug: lesson.id for slug, lesson in before[CourseLesson].items()}  # nothing new, nothing deleted
    assert lessons["what-serverless-really-means"].title == "Serverless, explained"
    assert lessons["testing-with-moto"].is_published is False
    assert lessons["observability-basics"].module_id == before[CourseModule]["foundations"].id

    outline = load_outline("serverless-python-on-aws")
    assert "testing-with-moto" not in [lesson.slug for lesson in outline.published_lessons()]
    assert outline.course.lesson_count == len(outline.published_lessons()) == 6
    sql = of_kind("practical-sql-for-analysts", Course)["practical-sql-for-analysts"]
    assert (sql_price_before, sql.price_amount) == (4900, 5900)
    pdf = of_kind("serverless-python-on-aws", LessonResource)["sam-deploy-checklist.pdf"]
    body = boto3.client("s3").get_object(Bucket=config.assets_bucket(), Key=pdf.storage_key)["Body"].read()
    assert body == b"%PDF-1.4\n% changed\n"

    with count_requests() as counter:
        again = apply(catalog_copy)
    assert writes(counter) == [] and set(again.counts()) == {UNCHANGED}


def test_removed_module_and_unpublished_course_leave_the_read_side(aws, catalog_copy):
    apply(catalog_copy)

    def change(data):
        course_of(data, "practical-sql-for-analysts")["modules"].pop()  # "career", with its two lessons
        course_of(data, "command-line-fundamentals")["published"] = False

    edit(catalog_copy, change)
    report = apply(catalog_copy)
    changes = {(c.kind, c.label): c.action for c in report.changes}
    assert changes["module", "career"] == UNPUBLISHED
    assert changes["lesson", "building-a-portfolio"] == UNPUBLISHED
    assert changes["resource", "resume-that-gets-read/résumé-checklist.txt"] == UNPUBLISHED
    assert changes["course", "command-line-fundamentals"] == UNPUBLISHED

    assert [c.slug for c in list_published(50, None)[0]] == ["practical-sql-for-analysts", "serverless-python-on-aws"]
    sql = load_outline("practical-sql-for-analysts")
    assert (sql.course.module_count, sql.course.lesson_count) == (2, 5)
    assert of_kind("practical-sql-for-analysts", CourseModule)["career"].is_published is False
    hidden = of_kind("command-line-fundamentals", Course)["command-line-fundamentals"]
    assert hidden.is_published is False and hidden.gsi1pk is None and hidden.gsi1sk is None

    # Publishing it again keeps its first publication date, so it returns to the same place.
    edit(catalog_copy, lambda data: course_of(data, "command-line-fundamentals").update(published=True))
    apply(catalog_copy)
    assert [c.slug for c in list_published(50, None)[0]][-1] == "command-line-fundamentals"


def test_course_missing_from_the_file_is_left_alone_unless_asked(aws, catalog_copy):
    apply(catalog_copy)
    edit(catalog_copy, lambda data: data["courses"].pop(2))  # command-line-fundamentals

    report = apply(catalog_copy)
    assert [(c.label, c.action) for c in report.changes if c.action == LEFT_ALONE] == [
        ("command-line-fundamentals", LEFT_ALONE)]
    assert "command-line-fundamentals" in [c.slug for c in list_published(50, None)[0]]

    report = apply(catalog_copy, unpublish_missing=True)
    assert ("command-line-fundamentals", UNPUBLISHED) in [(c.label, c.action) for c in report.changes]
    assert "command-line-fundamentals" not in [c.slug for c in list_published(50, None)[0]]
    assert of_kind("command-line-fundamentals", CourseLesson)  # its content is still there


# ---------------------------------------------------------------- validation and the CLI

BAD_CATALOG = """
courses:
  - slug: good-course
    title: Good
    price: {amount: 4900, currency: usd}
    published: true
    modules:
      - key: one
        title: One
        lessons:
          - {slug: intro, title: Intro}
  - slug: Bad_Course
    title: Second
    price: {amount: -5, currency: USD}
    publshed: true
    modules:
      - key: one
        title: One
        lessons:
          - {slug: a, title: A}
          - {slug: b, title: B, video_id: not-a-uid}
          - {slug: Not A Slug, title: C}
          - slug: a
            title: Duplicate
            resources:
              - {name: missing.pdf, file: files/missing.pdf}
      - key: one
  - slug: good-course
    title: Again
"""


def test_validation_errors_name_every_field_and_nothing_is_written(aws, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_CATALOG, encoding="utf-8")
    with count_requests() as counter:
        code = main(["catalog", "apply", str(path), "--no-stripe"])
    assert code == 2
    assert counter.calls == []  # not even a read: validation comes before AWS
    errors = capsys.readouterr().err
    for expected in [
        "courses[1].slug: must be a lowercase slug",
        "courses[1].price.amount: must be a whole number of minor units greater than 0",
        "courses[1].price.currency: must be a three-letter lowercase ISO 4217 code",
        "courses[1].publshed: unknown field (did you mean `published`?)",
        "courses[1].modules[0].lessons[1].video_id: must be a Cloudflare Stream video uid",
        "courses[1].modules[0].lessons[2].slug: must be a lowercase slug",
        "courses[1].modules[0].lessons[3].slug: duplicate `a` (first used at courses[1].modules[0].lessons[0].slug)",
        f"courses[1].modules[0].lessons[3].resources[0].file: no such file: {tmp_path / 'files' / 'missing.pdf'}",
        "courses[1].modules[1].title: is required",
        "courses[1].modules[1].key: duplicate `one` (first used at courses[1].modules[0].key)",
        "courses[2].slug: duplicate `good-course` (first used at courses[0].slug)",
    ]:
        assert expected in errors
    assert "nothing was written" in errors
    assert list(CatalogItem.scan()) == []


def test_validation_of_small_mistakes(tmp_path):
    def problems(text: str) -> list[str]:
        path = tmp_path / "c.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(CatalogFileError) as caught:
            load_catalog(path)
        return caught.value.errors

    assert problems("courses: {}\n") == ["courses: must be a list"]
    assert problems("nope: 1\n") == ["nope: unknown field (known: courses)", "courses: is required"]
    assert problems("courses:\n  - {slug: a, title: A, published_at: yesterday}\n") == [
        "courses[0].published_at: must be an ISO date (2025-03-01) or date-time (2025-03-01T09:00:00Z)"]
    assert problems("courses: [\n") [0].startswith(f"{tmp_path / 'c.yaml'}: not valid YAML")


def test_cli_prints_a_summary_and_is_quiet_on_the_second_run(aws, capsys):
    assert main(["catalog", "apply", str(DEMO), "--no-stripe"]) == 0
    out = capsys.readouterr().out
    assert "serverless-python-on-aws: created" in out
    assert "+ resource resume-that-gets-read/résumé-checklist.txt created" in out
    assert "Stripe: skipped (--no-stripe); no Stripe price yet, so not purchasable:" in out

    assert main(["catalog", "apply", str(DEMO), "--no-stripe", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "(dry run: nothing written)" in out
    assert "Summary: 0 created, 0 updated, 0 unpublished, 46 unchanged. Nothing to do." in out


def test_cli_failure_other_than_validation_exits_1(aws, capsys):
    boto3.client("dynamodb").delete_table(TableName=Course.Meta.table_name)
    assert main(["catalog", "apply", str(DEMO), "--no-stripe"]) == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_without_a_stripe_key_the_sync_is_skipped(aws, monkeypatch):
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    monkeypatch.delenv("STRIPE_SECRET_ARN", raising=False)
    report = apply(stripe=True)
    assert report.stripe_status.startswith("skipped (no Stripe key configured")
    assert report.stripe_changes == []


# ---------------------------------------------------------------- Stripe price sync


@pytest.fixture
def stripe_emulator(monkeypatch):
    emulator_module = pytest.importorskip("lectern_dev.stripe_emulator")
    emulator = emulator_module.StripeEmulator(port=0)
    emulator.start()
    monkeypatch.setenv("STRIPE_API_BASE", emulator.base_url)
    monkeypatch.setenv("STRIPE_SECRET_KEY", emulator.api_key)
    yield emulator
    emulator.stop()


def stripe_client():
    from lectern import stripe_gateway

    return stripe_gateway.client()


def test_price_sync_creates_products_and_prices_once(aws, stripe_emulator):
    dry = apply(stripe=True, dry_run=True)
    assert dry.stripe_status == "checked (dry run)"
    assert len(stripe_emulator.state["product"]) == 0

    report = apply(stripe=True)
    assert report.stripe_status == "synced"
    client = stripe_client()
    for slug, amount in [("serverless-python-on-aws", 7900), ("practical-sql-for-analysts", 4900),
                         ("watercolour-basics", 2900)]:
        course = of_kind(slug, Course)[slug]
        product = client.v1.products.retrieve(course.stripe_product_id)
        price = client.v1.prices.retrieve(course.stripe_price_id)
        assert product.name == course.title
        assert product.metadata.to_dict() == {"course_id": course.id, "course_slug": slug}
        assert product.default_price == price.id
        assert (price.unit_amount, price.currency, price.product, price.active) == (amount, "usd", product.id, True)
        assert price.metadata["course_id"] == course.id
    free = of_kind("command-line-fundamentals", Course)["command-line-fundamentals"]
    assert free.stripe_product_id is None and free.stripe_price_id is None
    counts = (len(stripe_emulator.state["product"]), len(stripe_emulator.state["price"]))
    assert counts == (3, 3)

    with count_requests() as counter:
        again = apply(stripe=True)
    assert writes(counter) == []
    assert {change.action for change in again.stripe_changes} == {UNCHANGED}
    assert (len(stripe_emulator.state["product"]), len(stripe_emulator.state["price"])) == counts


def test_price_change_makes_a_new_default_price_and_archives_the_old(aws, stripe_emulator, catalog_copy):
    apply(catalog_copy, stripe=True)
    slug = "practical-sql-for-analysts"
    first = of_kind(slug, Course)[slug]

    def reprice(amount, title=None):
        def change(data):
            course_of(data, slug)["price"]["amount"] = amount
            if title:
                course_of(data, slug)["title"] = title
        edit(catalog_copy, change)
        apply(catalog_copy, stripe=True)
        return of_kind(slug, Course)[slug]

    second = reprice(5900, title="Practical SQL for Data Analysts")
    client = stripe_client()
    assert second.stripe_product_id == first.stripe_product_id
    assert second.stripe_price_id != first.stripe_price_id
    assert client.v1.prices.retrieve(first.stripe_price_id).active is False
    new_price = client.v1.prices.retrieve(second.stripe_price_id)
    assert (new_price.unit_amount, new_price.active) == (5900, True)
    product = client.v1.products.retrieve(second.stripe_product_id)
    assert (product.default_price, product.name) == (new_price.id, "Practical SQL for Data Analysts")

    # Back to the first amount: a fresh Price, not the archived one replayed by its idempotency key.
    third = reprice(4900)
    assert third.stripe_price_id not in (first.stripe_price_id, second.stripe_price_id)
    assert client.v1.prices.retrieve(third.stripe_price_id).active is True
    assert client.v1.prices.retrieve(second.stripe_price_id).active is False

    # Not for sale any more: the price is archived and forgotten, the product stays.
    edit(catalog_copy, lambda data: course_of(data, slug).pop("price"))
    apply(catalog_copy, stripe=True)
    withdrawn = of_kind(slug, Course)[slug]
    assert withdrawn.stripe_price_id is None and withdrawn.stripe_product_id == first.stripe_product_id
    assert client.v1.prices.retrieve(third.stripe_price_id).active is False
    assert client.v1.products.retrieve(first.stripe_product_id).default_price is None


# ---------------------------------------------------------------- thumbnails


def test_thumbnails_are_uploaded_under_public_and_served_from_the_storefront_origin(api, monkeypatch):
    monkeypatch.setenv("FRONTEND_URL", "https://shop.example.com/")
    apply()
    s3 = boto3.client("s3")
    document = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    for expected in document["courses"]:
        course = of_kind(expected["slug"], Course)[expected["slug"]]
        data = (DEMO.parent / expected["thumbnail"]).read_bytes()
        assert course.thumbnail_url is None
        assert course.thumbnail_key.startswith(f"public/thumbnails/{course.id}/")
        assert course.thumbnail_key.endswith(".svg")
        stored = s3.get_object(Bucket=config.assets_bucket(), Key=course.thumbnail_key)
        assert stored["Body"].read() == data
        assert stored["ContentType"] == "image/svg+xml"
        assert stored["CacheControl"] == "public, max-age=31536000, immutable"  # the key changes with the bytes

    # The public API answers a URL on the storefront's own origin, in the list, the detail and the library.
    listed = {c["slug"]: c for c in api.get("/courses")["json"]["courses"]}
    for slug, course in listed.items():
        key = of_kind(slug, Course)[slug].thumbnail_key
        assert course["thumbnail_url"] == f"https://shop.example.com/{key}"
    detail = api.get("/courses/serverless-python-on-aws")["json"]["course"]
    assert detail["thumbnail_url"] == listed["serverless-python-on-aws"]["thumbnail_url"]


def test_a_changed_thumbnail_gets_a_new_key_and_an_unchanged_one_is_not_uploaded_again(aws, catalog_copy):
    apply(catalog_copy)
    before = of_kind("command-line-fundamentals", Course)["command-line-fundamentals"].thumbnail_key
    image = catalog_copy.parent / "files" / "thumbnails" / "command-line-fundamentals.svg"
    image.write_text(image.read_text().replace("#111827", "#0b1020"))
    with count_requests() as counter:
        report = apply(catalog_copy)
    changes = {(c.kind, c.label): c for c in report.changes}
    assert changes["course", "command-line-fundamentals"].fields == ("thumbnail_key",)
    assert [op for _, op in writes(counter)].count("PutObject") == 1
    after = of_kind("command-line-fundamentals", Course)["command-line-fundamentals"].thumbnail_key
    assert after != before and after.rsplit("/", 1)[0] == before.rsplit("/", 1)[0]
    s3 = boto3.client("s3")
    assert s3.get_object(Bucket=config.assets_bucket(), Key=after)["Body"].read() == image.read_bytes()
    s3.head_object(Bucket=config.assets_bucket(), Key=before)  # nothing is deleted: old pages keep their image

    def use_url(data):
        course = course_of(data, "command-line-fundamentals")
        del course["thumbnail"]
        course["thumbnail_url"] = "https://cdn.example.com/cli.png"

    edit(catalog_copy, use_url)
    apply(catalog_copy)
    course = of_kind("command-line-fundamentals", Course)["command-line-fundamentals"]
    assert (course.thumbnail_key, course.thumbnail_url) == (None, "https://cdn.example.com/cli.png")


def test_thumbnail_files_are_validated(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "ok.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (images / "script.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    (images / "handler.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    (images / "notes.txt").write_text("not an image")
    (images / "huge.png").write_bytes(b"\x89PNG" + b"0" * (1024 * 1024))

    def problems(**fields) -> list[str]:
        path = tmp_path / "c.yaml"
        course = {"slug": "a", "title": "A", **fields}
        path.write_text(yaml.safe_dump({"courses": [course]}), encoding="utf-8")
        try:
            load_catalog(path)
        except CatalogFileError as error:
            return error.errors
        return []

    assert problems(thumbnail="images/ok.svg") == []
    assert problems(thumbnail="images/ok.svg", thumbnail_url="https://cdn.example.com/a.png") == [
        "courses[0].thumbnail: give either `thumbnail` (a file) or `thumbnail_url`, not both"]
    assert problems(thumbnail="images/missing.png") == [
        f"courses[0].thumbnail: no such file: {images / 'missing.png'}"]
    assert problems(thumbnail="images/notes.txt")[0].startswith("courses[0].thumbnail: must be an image file (")
    assert problems(thumbnail="images/huge.png") == ["courses[0].thumbnail: must be at most 1024 KB"]
    for active in ("script.svg", "handler.svg"):
        assert problems(thumbnail=f"images/{active}") == [
            "courses[0].thumbnail: an SVG thumbnail must not contain scripts, event handlers or foreignObject"]
