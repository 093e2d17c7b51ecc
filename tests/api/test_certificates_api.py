"""Certificates of completion (issue 14, item 2): issued once when the last published lesson is
completed, listed with a presigned PDF link, verified in public, revoked with access.
Handlers in process (ProgressFunction), on moto."""
import re
import threading
import zlib
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError
from support.factories import make_course
from lectern import config
from lectern.entitlements import service as entitlements
from lectern.learning import certificates, heartbeat
from lectern.models import entitlements as store
from lectern.models.entitlements import Certificate, CertificateCode
from lectern.models.users import User
from support.request_counter import count_requests
from support.learning_support import grant, learner, lessons_of, put

NOT_FOUND = {"error": {"code": "not_found", "message": "Nothing was found here."}}


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    monkeypatch.setenv("AUTH_SIGNING_KEY", "test-only-hs256-signing-key-0123456789abcdefghijklmnopqrstuvwxyz")


@pytest.fixture
def course(api):
    course = make_course("certified", title="Certified — Deep Dive", unpublished_lesson=True)
    course.lessons = lessons_of(course)
    return course


def complete_all(api, course, auth, *, but=0):
    for lesson in course.lessons[:len(course.lessons) - but]:
        assert put(api, course, lesson, {"position_seconds": 600}, auth)["statusCode"] == 200


def pdf_text(body: bytes) -> str:
    """The text of the PDF's (deflated) content streams."""
    text = body.decode("latin-1")
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.DOTALL):
        try:
            text += zlib.decompress(stream).decode("latin-1")
        except zlib.error:
            pass
    return text


def stored_pdf(code: str) -> bytes:
    return boto3.client("s3").get_object(Bucket=config.assets_bucket(), Key=f"certificates/{code}.pdf")["Body"].read()


def test_completing_the_last_published_lesson_issues_one_certificate_with_its_pdf(api, course):
    user, auth = learner(name="Ada Lovelace")
    grant(user, course)
    complete_all(api, course, auth, but=1)
    assert api.get("/me/certificates", headers=auth)["json"] == {"certificates": []}
    complete_all(api, course, auth)  # the last one, and every other one again: still one certificate
    [cert] = api.get("/me/certificates", headers=auth)["json"]["certificates"]
    assert set(cert) == {"code", "course_slug", "course_title", "learner_name", "issued_at", "status", "verify_url",
                         "download_url"}
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", cert["code"])  # 192 random bits
    assert (cert["course_slug"], cert["course_title"], cert["learner_name"], cert["status"]) == (
        course.slug, "Certified — Deep Dive", "Ada Lovelace", "valid")
    assert cert["verify_url"] == f"{config.frontend_url()}/certificates/{cert['code']}"
    download = urlsplit(cert["download_url"])
    assert download.path.endswith(f"/certificates/{cert['code']}.pdf") and "X-Amz-Signature" in download.query
    assert "X-Amz-Expires=300" in download.query
    body = stored_pdf(cert["code"])
    assert body.startswith(b"%PDF")
    text = pdf_text(body)
    for words in ("Ada Lovelace", "Certified - Deep Dive", cert["code"], cert["verify_url"], cert["issued_at"][:10]):
        assert words in text, words
    assert len(list(Certificate.query(f"USER#{user.id}", Certificate.sk.startswith("CERT#")))) == 1


def test_anyone_can_verify_a_code_without_signing_in_and_unknown_codes_are_404(api, course):
    user, auth = learner()
    grant(user, course)
    complete_all(api, course, auth)
    [mine] = api.get("/me/certificates", headers=auth)["json"]["certificates"]
    with count_requests() as counter:
        response = api.get(f"/certificates/{mine['code']}")
    assert counter.dynamodb() == ["GetItem", "GetItem"]
    assert response["statusCode"] == 200 and response["headers"]["Cache-Control"] == "no-store"
    assert response["json"] == {"certificate": {k: v for k, v in mine.items() if k != "download_url"}}
    for code in ("A" * 32, "short", "x" * 64, "%2e%2e"):
        answer = api.get(f"/certificates/{code}")
        assert (answer["statusCode"], answer["json"]) == (404, NOT_FOUND), code


def test_the_learners_name_falls_back_to_the_local_part_of_the_email(api, course):
    user, auth = learner("grace.hopper@example.com", name="x")
    User.get(*User.key(user.id)).update(actions=[User.name.set("")])
    grant(user, course)
    complete_all(api, course, auth)
    [cert] = api.get("/me/certificates", headers=auth)["json"]["certificates"]
    assert cert["learner_name"] == "grace.hopper"


def test_a_failed_pdf_upload_still_issues_and_the_listing_makes_the_pdf(api, course, monkeypatch):
    user, auth = learner()
    grant(user, course)
    real = certificates._s3()

    class S3Down:
        def put_object(self, **_kwargs):
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "slow down"}}, "PutObject")

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(certificates, "_s3", lambda: S3Down())
    complete_all(api, course, auth)
    [issued] = store.certificates_of(user.id)
    assert issued.pdf_key is None
    assert api.get(f"/certificates/{issued.code}")["json"]["certificate"]["status"] == "valid"
    monkeypatch.setattr(certificates, "_s3", lambda: real)
    [cert] = api.get("/me/certificates", headers=auth)["json"]["certificates"]
    assert stored_pdf(cert["code"]).startswith(b"%PDF")
    assert store.certificates_of(user.id)[0].pdf_key == f"certificates/{cert['code']}.pdf"
    with count_requests() as counter:  # stored now: a listing is one Query
        api.get("/me/certificates", headers=auth)
    assert counter.dynamodb() == ["Query"]


def test_the_issuing_heartbeat_costs_what_docs_data_model_says(api, course):
    user, auth = learner()
    grant(user, course)
    complete_all(api, course, auth, but=1)
    with count_requests() as counter:
        assert put(api, course, course.lessons[-1], {"position_seconds": 600}, auth)["statusCode"] == 200
    # #25a (Query, GetItem, UpdateItem) + #26 + the issue: user GetItem, transaction, pdf_key UpdateItem.
    assert counter.dynamodb() == ["Query", "GetItem", "UpdateItem", "Query", "GetItem", "TransactWriteItems",
                                  "UpdateItem"]
    assert stored_pdf(store.certificates_of(user.id)[0].code).startswith(b"%PDF")


@pytest.mark.usefixtures("atomic_aws_requests")
def test_two_concurrent_completions_of_the_last_lessons_issue_exactly_one_certificate(api, course, monkeypatch):
    user, auth = learner()
    grant(user, course)
    complete_all(api, course, auth, but=2)
    both_written = threading.Barrier(2, timeout=10)
    real_record = store.record_progress

    def record_then_wait(*args, **kwargs):
        before = real_record(*args, **kwargs)
        both_written.wait()  # each heartbeat then sees both lessons completed: both try to issue
        return before

    monkeypatch.setattr(store, "record_progress", record_then_wait)
    issued, errors = [], []
    real_issue = certificates.issue

    def counting_issue(*args, **kwargs):
        result = real_issue(*args, **kwargs)
        issued.append(result)
        return result

    monkeypatch.setattr(certificates, "issue", counting_issue)

    def complete(lesson):
        try:
            heartbeat.save(user.id, course.slug, lesson.slug, position_seconds=600, completed=False)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=complete, args=(lesson,)) for lesson in course.lessons[-2:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(issued) == 2 and sum(1 for result in issued if result is not None) == 1  # both tried, one won
    assert len(store.certificates_of(user.id)) == 1
    code = store.certificates_of(user.id)[0].code
    assert CertificateCode.get(*CertificateCode.key(code)).user_id == user.id
    listed = boto3.client("s3").list_objects_v2(Bucket=config.assets_bucket(), Prefix="certificates/")
    assert [o["Key"] for o in listed.get("Contents", [])] == [f"certificates/{code}.pdf"]


def test_losing_access_revokes_the_certificate_and_a_regrant_leaves_it_revoked(api, course):
    user, auth = learner()
    grant(user, course)
    complete_all(api, course, auth)
    [cert] = api.get("/me/certificates", headers=auth)["json"]["certificates"]
    entitlements.revoke(user.id, course.id, reason="refund", actor="test")
    assert api.get(f"/certificates/{cert['code']}")["json"]["certificate"]["status"] == "revoked"
    assert api.get("/me/certificates", headers=auth)["json"]["certificates"][0]["status"] == "revoked"
    grant(user, course)
    complete_all(api, course, auth)  # completed already: nothing is issued again
    [still] = api.get("/me/certificates", headers=auth)["json"]["certificates"]
    assert (still["code"], still["status"]) == (cert["code"], "revoked")


def test_a_repeated_revoke_finishes_a_certificate_revocation_a_failure_left_undone(api, course):
    user, auth = learner()
    grant(user, course)
    complete_all(api, course, auth)
    entitlements.revoke(user.id, course.id, reason="refund", actor="test")
    [cert] = store.certificates_of(user.id)
    cert.update(actions=[Certificate.status.set("valid")])  # as if the UpdateItem after the revoke had failed
    assert entitlements.revoke(user.id, course.id, reason="refund", actor="test").changed is False
    assert api.get(f"/certificates/{cert.code}")["json"]["certificate"]["status"] == "revoked"


def test_no_certificate_is_issued_to_someone_who_lost_access_meanwhile(api, course):
    user, auth = learner()
    grant(user, course)
    complete_all(api, course, auth)
    other, _ = learner("other@example.com")
    assert certificates.issue(other.id, course.id, course.slug, course.title) is None  # never entitled
    assert store.certificates_of(other.id) == []


def test_an_operator_restores_a_revoked_certificate_only_once_the_learner_has_the_course_again(api, course, capsys):
    from lectern_admin.__main__ import main as admin

    user, auth = learner()
    grant(user, course)
    complete_all(api, course, auth)
    [cert] = api.get("/me/certificates", headers=auth)["json"]["certificates"]
    entitlements.revoke(user.id, course.id, reason="dispute_lost", actor="test")
    restore = ["certificates", "restore", "--email", user.email, "--course", course.slug]
    assert admin(restore) == 1  # no access: a restored certificate would vouch for a course they do not have
    assert "grant it first" in capsys.readouterr().err
    assert api.get(f"/certificates/{cert['code']}")["json"]["certificate"]["status"] == "revoked"

    grant(user, course)  # e.g. the dispute was won after all
    assert admin(restore) == 0
    verified = api.get(f"/certificates/{cert['code']}")["json"]["certificate"]
    assert (verified["code"], verified["status"]) == (cert["code"], "valid")
    assert admin(restore) == 1 and "unchanged" in capsys.readouterr().out  # valid already
    assert admin(["certificates", "list", "--email", user.email]) == 0
    assert f"valid    {course.slug}" in capsys.readouterr().out
    assert admin(["certificates", "restore", "--email", "nobody@example.com", "--course", course.slug]) == 2


def test_a_failed_issue_is_made_good_by_the_players_retry_of_the_completing_heartbeat(api, course, monkeypatch):
    """The heartbeat that completes the last lesson records the completion, then the issue fails (DynamoDB
    busy): 503. The player retries that save (`completed: true`, web/js/progress.js); the lesson is completed
    already, and that retry must still issue the certificate, or it is never issued."""
    from botocore.exceptions import ClientError as BotoClientError
    from pynamodb.exceptions import TransactWriteError

    user, auth = learner()
    grant(user, course)
    complete_all(api, course, auth, but=1)
    real_issue = certificates.issue

    def busy(*_args, **_kwargs):
        raise TransactWriteError("busy", cause=BotoClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems"))

    monkeypatch.setattr(certificates, "issue", busy)
    last = course.lessons[-1]
    failed = put(api, course, last, {"position_seconds": 600, "completed": True}, auth)
    assert failed["statusCode"] == 503, failed["body"]
    assert store.certificates_of(user.id) == []
    monkeypatch.setattr(certificates, "issue", real_issue)
    assert put(api, course, last, {"position_seconds": 600, "completed": True}, auth)["statusCode"] == 200
    [cert] = api.get("/me/certificates", headers=auth)["json"]["certificates"]
    assert cert["status"] == "valid"
    with count_requests() as counter:  # issued: a `completed: true` again reads one more item, and issues nothing
        assert put(api, course, last, {"position_seconds": 600, "completed": True}, auth)["statusCode"] == 200
    assert counter.dynamodb() == ["Query", "GetItem", "UpdateItem", "GetItem"]
    assert len(store.certificates_of(user.id)) == 1


def test_a_course_whose_last_unfinished_lesson_is_hidden_issues_on_the_next_completion(api, course):
    """Every published lesson completed but one, and that one is then hidden: the course is complete. No
    heartbeat newly completes a lesson any more; finishing a lesson again (`completed: true`) issues it."""
    from lectern.models.catalog import CourseLesson

    user, auth = learner()
    grant(user, course)
    complete_all(api, course, auth, but=1)
    course.lessons[-1].update(actions=[CourseLesson.is_published.set(False)])
    assert put(api, course, course.lessons[0], {"position_seconds": 600}, auth)["statusCode"] == 200
    assert store.certificates_of(user.id) == []  # an ordinary heartbeat stays at its three requests
    assert put(api, course, course.lessons[0], {"position_seconds": 600, "completed": True}, auth)["statusCode"] == 200
    [cert] = store.certificates_of(user.id)
    assert cert.status == "valid"


def test_a_learner_name_with_controls_or_bidi_overrides_is_plain_one_line_text_on_the_certificate(api, course):
    """An account's name is not checked for control characters at sign-up, and the certificate shows it to
    anyone with the code (and prints it in the PDF): line breaks would push the code and the verification
    address off the page, a bidi override would make the public page read otherwise than it says."""
    user, auth = learner(name="Ada\u202e ecalevoL\r\n\n\n\n\x00\x1b[2J Lovelace\u2066")
    grant(user, course)
    complete_all(api, course, auth)
    [cert] = api.get("/me/certificates", headers=auth)["json"]["certificates"]
    assert cert["learner_name"] == "Ada ecalevoL [2J Lovelace"
    assert api.get(f"/certificates/{cert['code']}")["json"]["certificate"]["learner_name"] == cert["learner_name"]
