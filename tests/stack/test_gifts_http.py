"""Over real HTTP against the local stack: a guest buys a course as a gift (paid on the Stripe emulator's
hosted page, fulfilled by the signed webhook), the recipient claims the account through the emailed
link and finds the course; the buyer sends the gift email again; and a free course's enrolment."""
import pytest

from support.http_client import StackClient, unique_email

pytestmark = pytest.mark.stack

SQL, FREE = "practical-sql-for-analysts", "command-line-fundamentals"  # the demo catalog: priced, and free
PASSWORD = "correct horse battery staple 42"


@pytest.fixture(scope="module")
def client(local_stack) -> StackClient:
    return StackClient(local_stack.urls)


def test_a_gift_bought_by_a_guest_is_claimed_by_its_recipient_who_sees_the_course(client):
    buyer, friend = unique_email("gift-buyer"), unique_email("gift-friend")
    created = client.call("POST", "/checkout", json={"course_slug": SQL, "email": buyer, "gift": {
        "recipient_email": friend, "recipient_name": "Grace", "message": "Happy birthday!\nEnjoy."}})
    assert created.status_code == 201, created.text
    session_id = created.json()["checkout_session_id"]
    assert client.pay(session_id).status_code == 303
    client.wait_for_order(session_id, "paid")

    # The recipient's gift email: the buyer, the message, a claim link (a new address got an account).
    token = client.wait_for_mail(friend, "/claim")[-1]
    [gift] = [m for m in client.mail_to(friend) if "given you a course" in m["body"]]
    assert f"{buyer} has given you a course" in gift["body"] and "> Happy birthday!\n> Enjoy." in gift["body"]
    # The buyer's receipt says it was a gift, and to whom.
    assert any("receipt" in s for s in client.wait_for_subject(buyer, "receipt"))
    [receipt] = [m for m in client.mail_to(buyer) if "receipt" in m["subject"].lower()]
    assert f"a gift for Grace ({friend})" in receipt["body"]

    claimed = client.call("POST", "/auth/claim", json={"token": token, "password": PASSWORD})
    assert claimed.status_code == 200, claimed.text
    access = claimed.json()["access_token"]
    assert [c["slug"] for c in client.call("GET", "/me/courses", access).json()["courses"]] == [SQL]
    assert client.call("GET", f"/learn/{SQL}", access).status_code == 200

    # The buyer claims their own account (a guest buyer's), sees the gift in their orders, has no access,
    # and sends the gift email again.
    buyer_token = client.wait_for_mail(buyer, "/claim")[-1]
    buyer_access = client.call("POST", "/auth/claim", json={"token": buyer_token, "password": PASSWORD}).json()[
        "access_token"]
    [order] = client.call("GET", "/me/orders", buyer_access).json()["orders"]
    assert order["gift"] == {"recipient_email": friend, "recipient_name": "Grace"} and order["status"] == "paid"
    assert client.call("GET", "/me/courses", buyer_access).json()["courses"] == []
    assert client.call("GET", f"/learn/{SQL}", buyer_access).status_code == 403
    again = client.call("POST", f"/me/orders/{order['id']}/resend-gift", buyer_access)
    assert again.status_code == 202 and again.json() == {"sent": True}
    assert client.call("POST", f"/me/orders/{order['id']}/resend-gift", access).status_code == 404  # not theirs
    # The recipient has a password now: the email again has a sign-in link, no claim link.
    resent = [m for m in client.mail_to(friend) if "/login?next=" in m["body"]]
    assert len(resent) == 1 and "/claim?token=" not in resent[0]["body"]


def test_a_free_course_is_enrolled_in_over_http(client):
    email = unique_email("free")
    registered = client.call("POST", "/auth/register", json={"name": "Lin", "email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    access = registered.json()["access_token"]

    assert client.call("POST", f"/courses/{FREE}/enroll").status_code == 401
    first = client.call("POST", f"/courses/{FREE}/enroll", access)
    assert first.status_code == 201, first.text
    assert first.json()["course_slug"] == FREE and first.headers["Cache-Control"] == "no-store"
    again = client.call("POST", f"/courses/{FREE}/enroll", access)
    assert again.status_code == 200 and again.json() == first.json()
    assert client.call("POST", f"/courses/{SQL}/enroll", access).json()["error"]["code"] == "not_free"
    assert client.call("POST", "/courses/no-such-course/enroll", access).status_code == 404
    assert [c["slug"] for c in client.call("GET", "/me/courses", access).json()["courses"]] == [FREE]
    assert client.call("GET", f"/learn/{FREE}", access).status_code == 200
    checkout = client.call("POST", "/checkout", json={"course_slug": FREE, "email": email})
    assert checkout.status_code == 409 and "enroll" in checkout.json()["error"]["message"]
