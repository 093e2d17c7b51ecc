"""Certificates of completion: issued once per learner and course, verified by their code.

Issue (when a heartbeat completes the last published lesson, lectern.learning.heartbeat):
  - GetItem the user (#5): the learner's name, else the local part of the email;
  - TransactWriteItems: Put the certificate `USER#<id>` / `CERT#<course id>` and its code lookup
    `CERTCODE#<code>` / `CERTIFICATE`, each `attribute_not_exists(pk)`, and ConditionCheck the
    entitlement `status = active`. Two completions racing each other issue ONE certificate (the
    loser's Put fails its condition); a revoke racing the issue leaves none.
  - the PDF (fpdf2, lectern.learning.certificate_pdf) is made once and put in the assets bucket
    at `certificates/<code>.pdf`, then `pdf_key` is set (UpdateItem). When that fails (an S3
    hiccup), the certificate stands all the same: the first GET /me/certificates that finds no
    `pdf_key` makes and stores the PDF then.
Revocation is the entitlements' business: lectern.entitlements.service.revoke marks it.
"""
import re
import secrets
from functools import lru_cache

import boto3
from botocore.config import Config
from pynamodb.exceptions import DoesNotExist, TransactWriteError

from lectern import config
from lectern.catalog.queries import Outline
from lectern.clock import iso
from lectern.errors import NotFound
from lectern.learning import certificate_pdf, progress
from lectern.learning.downloads import content_disposition
from lectern.learning.schemas import Certificate as CertificateView
from lectern.learning.schemas import CertificateEnvelope, CertificateList, PublicCertificate
from lectern.models import entitlements as store
from lectern.models.base import condition_failed, transaction
from lectern.models.entitlements import ACTIVE, Certificate, CertificateCode, Entitlement
from lectern.observability import logger
from lectern.plain_text import plain_text

# At import: the function that issues certificates stores their PDFs, and prints the learner's name (the
# Users model itself loads when a certificate is issued).
config.require("ASSETS_BUCKET", "USERS_TABLE")

CODE_BYTES = 24  # 192 random bits, 32 URL-safe characters
_CODE = re.compile(r"^[A-Za-z0-9_-]{32}$")
URL_SECONDS = 300
_ISSUE_ATTEMPTS = 3  # a TransactionConflict (a concurrent write to one of its items) decided nothing: again


@lru_cache(maxsize=1)
def _s3():
    return boto3.client("s3", region_name=config.region(), config=Config(signature_version="s3v4"))


def pdf_key(code: str) -> str:
    return f"certificates/{code}.pdf"


def verify_url(code: str) -> str:
    """The storefront's page for the code (web/js/app.js routes /certificates/<code>)."""
    return f"{config.frontend_url()}/certificates/{code}"


def learner_name(user_id: str) -> str:
    """The name the certificate shows to anyone with its code, and prints: the account's name as one line of
    plain text (an account's name is not checked for control characters at sign-up: line breaks, bidi
    overrides and the like become spaces, runs of spaces one), else the local part of the email. The Users
    model is imported here, once a certificate is issued: the progress function's other routes never read it."""
    from lectern.models.users import User

    try:
        user = User.get(*User.key(user_id))
    except DoesNotExist:
        return "Learner"
    return " ".join(plain_text(user.name).split()) or user.email.split("@", 1)[0]


def has_certificate(user_id: str, course_id: str) -> bool:
    """#27b: whether the user was issued the course's certificate (valid or revoked): one GetItem."""
    try:
        Certificate.get(*Certificate.key(user_id, course_id), attributes_to_get=["pk"])
    except DoesNotExist:
        return False
    return True


def issue_if_course_completed(user_id: str, outline: Outline) -> Certificate | None:
    """After a heartbeat newly completed a lesson: when every published lesson of the course is now
    completed, issue the certificate (once). One consistent Query of the course's progress (#26)."""
    done = progress.by_lesson(store.progress_in_course(user_id, outline.course.id, consistent_read=True))
    if not progress.all_completed(outline, done):
        return None
    return issue(user_id, outline.course.id, outline.course.slug, outline.course.title)


def issue(user_id: str, course_id: str, course_slug: str, course_title: str) -> Certificate | None:
    """The certificate, newly issued; None when it was issued already or access is gone."""
    name = learner_name(user_id)
    for attempt in range(_ISSUE_ATTEMPTS):
        code = secrets.token_urlsafe(CODE_BYTES)
        certificate = Certificate(*Certificate.key(user_id, course_id), code=code, user_id=user_id,
                                  course_id=course_id, course_slug=course_slug, course_title=course_title,
                                  learner_name=name, issued_at=iso(), status=store.VALID)
        try:
            with transaction() as write:
                write.save(certificate, condition=Certificate.pk.does_not_exist())
                write.save(CertificateCode(*CertificateCode.key(code), user_id=user_id, course_id=course_id),
                           condition=CertificateCode.pk.does_not_exist())
                write.condition_check(Entitlement, *Entitlement.key(user_id, course_id),
                                      condition=Entitlement.status == ACTIVE)
        except TransactWriteError as exc:
            if condition_failed(exc):
                return None  # issued already (maybe by a concurrent completion), or no longer entitled
            if exc.cause_response_code != "TransactionCanceledException" or attempt == _ISSUE_ATTEMPTS - 1:
                raise
            continue
        logger.info("Certificate issued", extra={"course_id": course_id, "certificate_code": code})
        store_pdf(certificate)
        return certificate
    return None


def store_pdf(certificate: Certificate) -> bool:
    """Make the certificate's PDF and put it in the assets bucket, then record its key. Never raises:
    without its PDF the certificate is still issued (the next listing tries again)."""
    key = pdf_key(certificate.code)
    try:
        body = certificate_pdf.render(learner_name=certificate.learner_name, course_title=certificate.course_title,
                                      issued_at=certificate.issued_at, code=certificate.code,
                                      verify_url=verify_url(certificate.code))
        _s3().put_object(Bucket=config.assets_bucket(), Key=key, Body=body, ContentType="application/pdf")
        certificate.update(actions=[Certificate.pdf_key.set(key)])
    except Exception:  # noqa: BLE001 - S3 or DynamoDB hiccup: the certificate stands, the PDF comes later
        logger.exception("Could not store the certificate's PDF", extra={"certificate_code": certificate.code})
        return False
    return True


def _public(certificate: Certificate) -> dict:
    return {"code": certificate.code, "course_slug": certificate.course_slug,
            "course_title": certificate.course_title, "learner_name": certificate.learner_name,
            "issued_at": certificate.issued_at, "status": certificate.status,
            "verify_url": verify_url(certificate.code)}


def download_url(certificate: Certificate) -> str:
    return _s3().generate_presigned_url("get_object", ExpiresIn=URL_SECONDS, Params={
        "Bucket": config.assets_bucket(), "Key": pdf_key(certificate.code),
        "ResponseContentDisposition": content_disposition(f"certificate-{certificate.course_slug}.pdf"),
        "ResponseContentType": "application/pdf",
    })


def mine(user_id: str) -> CertificateList:
    """The user's certificates, newest first: one Query (#27); a certificate whose PDF is not stored
    yet gets it now (S3 PutObject + UpdateItem), so its `download_url` works."""
    found = store.certificates_of(user_id)
    for certificate in found:
        if not certificate.pdf_key:
            store_pdf(certificate)
    found.sort(key=lambda c: c.issued_at, reverse=True)
    return CertificateList(certificates=[CertificateView(**_public(c), download_url=download_url(c)) for c in found])


def verify(code: str) -> CertificateEnvelope:
    """Public: the certificate of `code` (#28: two GetItems), or 404 (a malformed code reads nothing)."""
    certificate = store.certificate_by_code(code) if _CODE.match(code) else None
    if certificate is None:
        raise NotFound()
    return CertificateEnvelope(certificate=PublicCertificate(**_public(certificate)))
