"""Progress and certificates over real HTTP against the local stack (issue 14, items 1 and 2): a
learner buys a course on the Stripe emulator, opens lessons (the player's first heartbeat records
them), keeps watching, reaches the end of every lesson, gets a certificate (PDF downloaded through
its presigned link, verified in public), and a refund revokes it. Nothing here is in-process."""
import pytest
from support.http_client import StackClient, unique_email

pytestmark = pytest.mark.stack

SQL = "practical-sql-for-analysts"
PASSWORD = "correct horse battery staple 42"


@pytest.fixture(scope="module")
def client(local_stack) -> StackClient:
    return StackClient(local_stack.urls)


def _buyer(client: StackClient, slug: str) -> tuple[dict, str]:
    email = unique_email("certified")
    order = client.buy(slug, email)
    token = client.wait_for_mail(email, "/claim")[-1]
    claimed = client.call("POST", "/auth/claim", json={"token": token, "password": PASSWORD, "name": "Grace Hopper"})
    assert claimed.status_code == 200, claimed.text
    return order, claimed.json()["access_token"]


def _lessons(client: StackClient, slug: str, access: str) -> list[dict]:
    course = client.call("GET", f"/learn/{slug}", access).json()["course"]
    return [lesson for module in course["modules"] for lesson in module["lessons"]]


def _beat(client: StackClient, slug: str, lesson: str, access: str | None, **body):
    return client.call("PUT", f"/learn/{slug}/lessons/{lesson}/progress", access, json=body)


def test_progress_completion_certificate_and_its_revocation_by_a_refund(client):
    order, access = _buyer(client, SQL)
    lessons = _lessons(client, SQL, access)
    first = lessons[0]

    # An unentitled learner (and nobody at all) cannot write progress.
    stranger = client.call("POST", "/auth/register", json={"name": "S", "email": unique_email("stranger"),
                                                           "password": PASSWORD}).json()["access_token"]
    denied = _beat(client, SQL, first["slug"], stranger, position_seconds=5)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "not_entitled"
    assert _beat(client, SQL, first["slug"], None, position_seconds=5).status_code == 401
    bad = _beat(client, SQL, first["slug"], access, position_seconds=-3)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_failed"

    # Opening a lesson records progress: the lesson page, then the player's first heartbeat at 0.
    assert client.call("GET", f"/learn/{SQL}/lessons/{first['slug']}", access).status_code == 200
    opened = _beat(client, SQL, first["slug"], access, position_seconds=0)
    assert opened.status_code == 200 and opened.json()["progress"]["position_seconds"] == 0
    course = client.call("GET", f"/learn/{SQL}", access).json()["course"]
    assert course["modules"][0]["lessons"][0]["progress"]["position_seconds"] == 0
    assert course["next_lesson"]["slug"] == first["slug"]

    # Heartbeats keep the position (resume), and do not complete before 90 %.
    duration = first["duration_seconds"]
    assert duration
    for position in (15, 30, 45):
        kept = _beat(client, SQL, first["slug"], access, position_seconds=position).json()["progress"]
    assert kept["position_seconds"] == 45 and kept["completed_at"] is None
    resumed = _lessons(client, SQL, access)[0]["progress"]
    assert resumed["position_seconds"] == 45

    # Reaching the end completes; a smaller position later does not undo it.
    done = _beat(client, SQL, first["slug"], access, position_seconds=duration).json()["progress"]
    assert done["completed_at"]
    again = _beat(client, SQL, first["slug"], access, position_seconds=3).json()["progress"]
    assert again["completed_at"] == done["completed_at"] and again["position_seconds"] == 3
    library = client.call("GET", "/me/courses", access).json()["courses"]
    [entry] = [c for c in library if c["slug"] == SQL]
    assert entry["progress"]["completed_lessons"] == 1 and entry["next_lesson"]["slug"] == lessons[1]["slug"]

    # Every other lesson: completed (by position, or by the player saying so for one without a duration).
    assert client.call("GET", "/me/certificates", access).json() == {"certificates": []}
    for lesson in lessons[1:]:
        if lesson["duration_seconds"]:
            answer = _beat(client, SQL, lesson["slug"], access, position_seconds=lesson["duration_seconds"])
        else:
            answer = _beat(client, SQL, lesson["slug"], access, position_seconds=1, completed=True)
        assert answer.status_code == 200 and answer.json()["progress"]["completed_at"]
    course = client.call("GET", f"/learn/{SQL}", access).json()["course"]
    assert course["progress"]["percent"] == 100 and course["next_lesson"] is None

    # The certificate: its PDF through the presigned link, and the public verification.
    [certificate] = client.call("GET", "/me/certificates", access).json()["certificates"]
    assert certificate["learner_name"] == "Grace Hopper" and certificate["status"] == "valid"
    assert certificate["verify_url"].endswith(f"/certificates/{certificate['code']}")
    pdf = client.http.get(certificate["download_url"], timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    public = client.call("GET", f"/certificates/{certificate['code']}")
    assert public.status_code == 200
    assert public.json() == {"certificate": {k: v for k, v in certificate.items() if k != "download_url"}}
    assert client.call("GET", f"/certificates/{'Z' * 32}").json()["error"]["code"] == "not_found"

    # A refund (the Stripe emulator's, delivered as Stripe would) revokes it.
    client.refund(order["checkout_session_id"])
    revoked = client.call("GET", f"/certificates/{certificate['code']}").json()["certificate"]
    assert revoked["status"] == "revoked"
    assert _beat(client, SQL, first["slug"], access, position_seconds=1).status_code == 403
