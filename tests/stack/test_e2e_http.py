"""End to end over real HTTP against the local stack (`make dev`'s process):
checkout → the emulator's hosted page → signed webhook → access, emails,
claim, library, playback, downloads, refunds. Nothing here is in-process."""
import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from support.stack_process import E2E_AUTH_SIGNING_KEY, REPO_ROOT
from support.http_client import StackClient, unique_email

pytestmark = pytest.mark.stack

SERVERLESS, SQL = "serverless-python-on-aws", "practical-sql-for-analysts"
CATALOG_FILES = Path(__file__).resolve().parents[2] / "catalog" / "files"
PASSWORD = "correct horse battery staple 42"


@pytest.fixture(scope="module")
def client(local_stack) -> StackClient:
    return StackClient(local_stack.urls)


def _claim(client: StackClient, email: str) -> dict:
    token = client.wait_for_mail(email, "/claim")[-1]
    response = client.call("POST", "/auth/claim", json={"token": token, "password": PASSWORD, "name": "Guest"})
    assert response.status_code == 200, response.text
    return response.json()


def _first_resource_and_video_lesson(client: StackClient, slug: str, token: str) -> tuple[dict, str]:
    course = client.call("GET", f"/learn/{slug}", token).json()["course"]
    lessons = [lesson for module in course["modules"] for lesson in module["lessons"]]
    with_file = next(lesson for lesson in lessons if lesson["resources"])
    non_preview = next(lesson for lesson in lessons if not lesson["is_preview"])
    return with_file["resources"][0], non_preview["slug"]


def test_guest_purchase_to_claim_to_learning(client):
    email = unique_email("guest")
    order = client.buy(SERVERLESS, email)
    assert client.call("GET", f"/checkout/{order['checkout_session_id']}").json()["courses"] == [
        {"slug": SERVERLESS, "title": "Serverless Python on AWS"}]
    subjects = client.wait_for_subject(email, "receipt")
    assert any("receipt" in s for s in subjects), subjects  # the receipt…
    tokens = _claim(client, email)                            # …and the claim link, used here
    assert tokens["user"]["email"] == email and tokens["user"]["email_verified"] is True

    login = client.call("POST", "/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200
    access = login.json()["access_token"]
    me = client.call("GET", "/me", access).json()["user"]  # claiming verified the email, and says when
    assert me["email_verified"] is True and me["email_verified_at"] == tokens["user"]["email_verified_at"]
    assert me["email_verified_at"].endswith("Z")
    library = client.call("GET", "/me/courses", access).json()["courses"]
    assert [c["slug"] for c in library] == [SERVERLESS] and library[0]["granted_at"]

    resource, lesson_slug = _first_resource_and_video_lesson(client, SERVERLESS, access)
    lesson = client.call("GET", f"/learn/{SERVERLESS}/lessons/{lesson_slug}", access).json()["lesson"]
    playback = lesson["playback"]
    header = jwt.get_unverified_header(playback["token"])
    claims = jwt.decode(playback["token"], options={"verify_signature": False})
    assert header["alg"] == "RS256" and header["kid"] and claims["sub"] == playback["video_id"]
    assert claims["exp"] - time.time() <= 24 * 3600

    redirect = client.call("GET", f"/resources/{resource['id']}/download", access)
    assert redirect.status_code == 302
    as_json = client.call("GET", f"/resources/{resource['id']}/download", access,
                          headers={"Accept": "application/json"}).json()
    for url in (redirect.headers["Location"], as_json["url"]):
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=" in url
        assert int(url.split("X-Amz-Expires=")[1].split("&")[0]) <= 300
        download = client.http.get(url, timeout=10)
        assert download.status_code == 200
        # The demo catalog names each resource after its file.
        assert download.content == (CATALOG_FILES / resource["name"]).read_bytes()

    reused = client.call("POST", "/auth/claim", json={"token": client.wait_for_mail(email, "/claim")[-1],
                                                      "password": PASSWORD + "!"})
    assert reused.status_code in (400, 409) and "error" in reused.json()


def test_an_entitled_learners_player_url_plays_the_sample_video_on_the_stream_stand_in(client, local_stack):
    email = unique_email("viewer")
    client.buy(SERVERLESS, email)
    access = _claim(client, email)["access_token"]
    _, lesson_slug = _first_resource_and_video_lesson(client, SERVERLESS, access)
    playback = client.call("GET", f"/learn/{SERVERLESS}/lessons/{lesson_slug}", access).json()["lesson"]["playback"]

    # Offline, the player URL is the local stand-in's, not Cloudflare's (which cannot be reached).
    stream = local_stack.urls["stream"]
    assert stream.startswith("http://127.0.0.1:")
    assert playback["iframe_url"] == f"{stream}/{playback['token']}/iframe"
    page = client.http.get(playback["iframe_url"], timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "<video" in page.text and f'data-video-uid="{playback["video_id"]}"' in page.text
    sample = Path(__file__).resolve().parents[2] / "devtools" / "lectern_dev" / "stream_emulator" / "media"
    for ext in ("webm", "mp4"):
        source = f"/{playback['token']}/downloads/default.{ext}"
        assert f'src="{source}"' in page.text
        video = client.http.get(stream + source, timeout=10)
        assert video.status_code == 200 and video.content == (sample / f"sample.{ext}").read_bytes()

    # The stand-in checks the token as Stream would: a tampered one, or one for another video, plays nothing.
    header, claims, signature = playback["token"].split(".")
    tampered = ".".join([header, claims, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])
    assert client.http.get(f"{stream}/{tampered}/iframe", timeout=10).status_code == 403
    other_video = "0" * 32
    assert client.http.get(f"{stream}/{other_video}/iframe?token={playback['token']}", timeout=10).status_code == 403
    assert client.http.get(f"{stream}/{playback['video_id']}/iframe", timeout=10).status_code == 403


def test_signed_in_buyer_library_grows_without_duplicates(client):
    email = unique_email("member")
    registered = client.call("POST", "/auth/register", json={"name": "Member", "email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    access = registered.json()["access_token"]
    client.buy(SQL, token=access)
    client.buy(SERVERLESS, token=access)
    assert sorted(c["slug"] for c in client.call("GET", "/me/courses", access).json()["courses"]) == sorted([SERVERLESS, SQL])
    again = client.checkout(SQL, token=access)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_owned"
    orders = client.call("GET", "/me/orders", access).json()["orders"]
    assert sorted(o["items"][0]["course_slug"] for o in orders if o["status"] == "paid") == sorted([SERVERLESS, SQL])


def test_guest_purchase_with_an_existing_accounts_email_reuses_the_account(client):
    email = unique_email("returning")
    client.buy(SQL, email)
    first = _claim(client, email)
    client.buy(SERVERLESS, email)  # as a guest again, same email
    access = client.call("POST", "/auth/login", json={"email": email, "password": PASSWORD}).json()["access_token"]
    me = client.call("GET", "/me", access).json()["user"]
    assert me["id"] == first["user"]["id"]
    assert sorted(c["slug"] for c in client.call("GET", "/me/courses", access).json()["courses"]) == sorted([SERVERLESS, SQL])


def test_registering_a_guest_created_email_is_409_and_sends_a_fresh_claim(client):
    email = unique_email("unclaimed")
    client.buy(SQL, email)
    client.wait_for_mail(email, "/claim", count=1)
    response = client.call("POST", "/auth/register", json={"name": "X", "email": email, "password": PASSWORD})
    assert response.status_code == 409 and response.json()["error"]["code"] == "email_taken"
    client.wait_for_mail(email, "/claim", count=2)


def test_unentitled_user_is_denied_without_leaking_anything(client):
    owner = unique_email("owner")
    client.buy(SERVERLESS, owner)
    owner_access = _claim(client, owner)["access_token"]
    resource, lesson_slug = _first_resource_and_video_lesson(client, SERVERLESS, owner_access)

    stranger = client.call("POST", "/auth/register", json={"name": "S", "email": unique_email("stranger"),
                                                            "password": PASSWORD}).json()["access_token"]
    for path in (f"/learn/{SERVERLESS}", f"/learn/{SERVERLESS}/lessons/{lesson_slug}",
                 f"/resources/{resource['id']}/download"):
        response = client.call("GET", path, stranger)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"]["code"] == "not_entitled"
        body = response.text
        for secret in ("video_id", "storage_key", "http", "lessons", "X-Amz", lesson_slug, "courses/"):
            assert secret not in body, (path, secret)
    assert client.call("GET", f"/learn/{SERVERLESS}").status_code == 401


def test_refund_denies_the_very_next_download_and_playback(client):
    email = unique_email("refunded")
    order = client.buy(SQL, email)
    access = _claim(client, email)["access_token"]
    resource, lesson_slug = _first_resource_and_video_lesson(client, SQL, access)
    download = f"/resources/{resource['id']}/download"
    lesson = f"/learn/{SQL}/lessons/{lesson_slug}"
    assert client.call("GET", download, access).status_code == 302
    assert client.call("GET", lesson, access).status_code == 200

    client.refund(order["checkout_session_id"])
    assert client.call("GET", download, access).status_code == 403
    assert client.call("GET", lesson, access).status_code == 403
    assert client.call("GET", "/me/courses", access).json()["courses"] == []


def test_refresh_rotation_and_reuse_over_http(client):
    email = unique_email("rotate")
    tokens = client.call("POST", "/auth/register", json={"name": "R", "email": email, "password": PASSWORD}).json()
    rotated = client.call("POST", "/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200 and rotated.json()["refresh_token"] != tokens["refresh_token"]
    reused = client.call("POST", "/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401
    # Reuse revokes the whole family: the newest token stops working too.
    assert client.call("POST", "/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}).status_code == 401


def _forge(claims: dict, key: str = E2E_AUTH_SIGNING_KEY, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def test_bad_access_tokens_are_401(client):
    email = unique_email("jwt")
    good = client.call("POST", "/auth/register", json={"name": "J", "email": email, "password": PASSWORD}).json()
    access = good["access_token"]
    assert client.call("GET", "/me", access).status_code == 200
    claims = jwt.decode(access, options={"verify_signature": False})
    header, payload, signature = access.split(".")
    tampered_payload = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "someone-else"}).encode()).decode()
    none_header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).decode()
    bad = {
        "tampered": f"{header}.{tampered_payload.rstrip('=')}.{signature}",
        "alg_none": f"{none_header.rstrip('=')}.{payload}.",
        "wrong_key": _forge(claims, key="not-the-key-" + "x" * 40),
        "expired": _forge({**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}),
        "garbage": "not.a.jwt",
    }
    for name, token in bad.items():
        response = client.call("GET", "/me", token)
        assert response.status_code == 401, name
        assert response.json()["error"]["code"] == "unauthenticated", name


# ------------------------------------------------------------------ email never blocks access; no flooding

# The shared local stack's SES refuses unverified recipients at this domain, as a new AWS
# account's SES sandbox refuses every unverified recipient (LECTERN_SES_REJECT, tests/conftest.py).
SANDBOXED_DOMAIN = "ses-sandbox.example"


def _admin(local_stack, *args: str) -> subprocess.CompletedProcess:
    """`python -m lectern_admin …` against the stack's embedded AWS, as an operator would run it."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": "layers/common:devtools",
           "AWS_ENDPOINT_URL": local_stack.urls["aws"], "AWS_ACCESS_KEY_ID": "operator",
           "AWS_SECRET_ACCESS_KEY": "operator", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
           "FRONTEND_URL": local_stack.urls["web"], "LOG_LEVEL": "WARNING", "POWERTOOLS_TRACE_DISABLED": "true",
           "POWERTOOLS_METRICS_DISABLED": "true"}
    return subprocess.run([sys.executable, "-m", "lectern_admin", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _delivered(client: StackClient, session_id: str, timeout: float = 20) -> bool:
    """Whether Stripe (the emulator) got a 2xx for the session's checkout.session.completed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = client.http.get(f"{client.stripe}/v1/events", timeout=10, headers={
            "Authorization": "Bearer sk_test_lectern"}, params={"type": "checkout.session.completed",
                                                                "delivery_success": "true", "limit": 100}).json()
        if any(e["data"]["object"]["id"] == session_id for e in events["data"]):
            return True
        time.sleep(0.3)
    return False


def test_a_buyer_ses_refuses_gets_the_course_and_the_mails_once_ses_takes_them(client, local_stack):
    import boto3

    email = unique_email("sandboxed").replace("@example.com", f"@{SANDBOXED_DOMAIN}")
    order = client.buy(SQL, email)                            # paid...
    session_id = order["checkout_session_id"]
    assert _delivered(client, session_id)                     # ...and the webhook answered 200 (not 500 for days)
    assert client.mail_to(email) == []

    listed = _admin(local_stack, "mail", "failed")
    assert listed.returncode == 0, listed.stderr
    ours = [line for line in listed.stdout.splitlines() if f"to={email}" in line]
    assert sorted(line.split(":")[0] for line in ours) == ["purchase_claim", "receipt"], listed.stdout
    assert all(f":{order['order_id']}  pending" in line and "MessageRejected" in line for line in ours), ours

    # The success page's "send the link again": 202; refused too, so it waits in the outbox as well.
    again = client.call("POST", f"/checkout/{session_id}/resend-claim")
    assert again.status_code == 202, again.text
    ours = [line for line in _admin(local_stack, "mail", "failed").stdout.splitlines() if f"to={email}" in line]
    assert sorted(line.split(":")[0] for line in ours) == ["claim", "purchase_claim", "receipt"], ours

    # The operator verifies the address (or gets the account out of the sandbox), then resends.
    boto3.client("ses", endpoint_url=local_stack.urls["aws"], region_name="us-east-1",
                 aws_access_key_id="operator", aws_secret_access_key="operator").verify_email_identity(
        EmailAddress=email)
    resent = _admin(local_stack, "mail", "resend", *(line.split()[0] for line in ours))
    assert resent.returncode == 0 and resent.stdout.count("  sent") == 3, resent.stdout + resent.stderr
    assert any("receipt" in m["subject"].lower() for m in client.mail_to(email))
    newest, *older = client.wait_for_mail(email, "/claim", count=2)
    for token in older:                                       # each new link superseded the one before
        refused = client.call("POST", "/auth/claim", json={"token": token, "password": PASSWORD})
        assert refused.status_code == 400, refused.text
    claimed = client.call("POST", "/auth/claim", json={"token": newest, "password": PASSWORD})
    assert claimed.status_code == 200, claimed.text
    library = client.call("GET", "/me/courses", claimed.json()["access_token"]).json()["courses"]
    assert [c["slug"] for c in library] == [SQL]
    # Sent is sent: a second resend sends nothing.
    assert _admin(local_stack, "mail", "resend", ours[0].split()[0]).returncode == 1


def test_twenty_forgot_requests_over_http_send_three_mails(client):
    email = unique_email("flooded")
    registered = client.call("POST", "/auth/register", json={"name": "F", "email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    answers = [client.call("POST", "/auth/password/forgot", json={"email": email}) for _ in range(20)]
    assert {a.status_code for a in answers} == {202} and len({a.text for a in answers}) == 1
    links = client.wait_for_mail(email, "/reset-password", count=3)
    time.sleep(0.5)
    assert len(client.wait_for_mail(email, "/reset-password")) == len(links) == 3
    # Only the newest link works.
    assert client.call("POST", "/auth/password/reset", json={"token": links[-1], "password": PASSWORD + "!"}
                       ).status_code == 400
    assert client.call("POST", "/auth/password/reset", json={"token": links[0], "password": PASSWORD + "!"}
                       ).status_code == 200
