"""The money path against hostile input, over real HTTP against the local stack (`make dev`'s process):
another session naming an order, a course paid twice, a checkout flood, a free course. The webhook
deliveries are the emulator's own (signed, to the function URL); nothing here is in-process."""
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from support.http_client import StackClient, unique_email

pytestmark = pytest.mark.stack

SERVERLESS, SQL, FREE = "serverless-python-on-aws", "practical-sql-for-analysts", "command-line-fundamentals"


@pytest.fixture(scope="module")
def client(local_stack) -> StackClient:
    return StackClient(local_stack.urls)


def _outcome(local_stack, event_id: str, timeout: float = 20) -> str:
    """The outcome the webhook recorded for a Stripe event, read from the stack's own DynamoDB."""
    table = boto3.resource("dynamodb", endpoint_url=local_stack.urls["aws"], region_name="us-east-1",
                           aws_access_key_id="local", aws_secret_access_key="local").Table("StripeEventsTable")
    deadline = time.monotonic() + timeout
    while True:
        item = table.get_item(Key={"stripe_event_id": event_id}, ConsistentRead=True).get("Item") or {}
        if item.get("status") == "processed" or time.monotonic() > deadline:
            assert item.get("status") == "processed", item
            return item["outcome"]
        time.sleep(0.2)


def _event_about(client: StackClient, event_type: str, object_id: str) -> str:
    events = client.stripe_api("GET", f"/events?type={event_type}&limit=100")["data"]
    return next(e["id"] for e in events if e["data"]["object"]["id"] == object_id)


def _receipts(client: StackClient, email: str) -> list[dict]:
    return [m for m in client.mail_to(email) if "receipt" in m["subject"].lower()]


def test_a_free_course_is_409_free_course(client):
    response = client.checkout(FREE, unique_email("free"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "free_course"
    assert "enrol" in response.json()["error"]["message"]


def test_another_session_naming_an_order_pays_for_nothing(client, local_stack):
    """A 1.00 EUR session on the same Stripe account, naming a 79.00 USD order in
    client_reference_id and metadata, is paid: no access, no receipt, outcome recorded, 200."""
    email = unique_email("victim")
    created = client.checkout(SERVERLESS, email)
    assert created.status_code == 201, created.text
    order = created.json()
    price = client.stripe_api("POST", "/prices", currency="eur", unit_amount=100,
                              **{"product_data[name]": "Something else"})
    foreign = client.stripe_api("POST", "/checkout/sessions", mode="payment", client_reference_id=order["order_id"],
                                success_url="https://elsewhere.example/ok", customer_email=email,
                                **{"line_items[0][price]": price["id"], "line_items[0][quantity]": 1,
                                   "metadata[order_id]": order["order_id"]})
    assert client.pay(foreign["id"]).status_code == 303
    event_id = _event_about(client, "checkout.session.completed", foreign["id"])
    assert _outcome(local_stack, event_id) == "session_mismatch"
    assert client.call("GET", f"/checkout/{order['checkout_session_id']}").json()["status"] == "pending"
    assert client.call("GET", f"/checkout/{foreign['id']}").status_code == 404
    assert _receipts(client, email) == []

    assert client.pay(order["checkout_session_id"]).status_code == 303  # its own session does pay for it
    client.wait_for_order(order["checkout_session_id"], "paid")
    deadline = time.monotonic() + 10
    while not _receipts(client, email) and time.monotonic() < deadline:
        time.sleep(0.2)
    [receipt] = _receipts(client, email)
    assert "79.00 USD" in receipt["body"] and "EUR" not in receipt["body"]


def test_a_second_payment_for_a_course_is_refunded_as_a_duplicate(client):
    """Two checkouts for one course and buyer both paid: the first by bank debit (its session is
    complete, so the second checkout could not reuse it), the second by card. The one settled last
    is refunded at Stripe, marked so, and sends no second receipt."""
    email = unique_email("twice")
    first = client.checkout(SQL, email).json()
    assert client.pay(first["checkout_session_id"], action="pay_delayed").status_code == 303
    second = client.checkout(SQL, email).json()
    assert second["order_id"] != first["order_id"]
    assert client.pay(second["checkout_session_id"]).status_code == 303
    client.wait_for_order(second["checkout_session_id"], "paid")

    settled = client.http.post(f"{client.stripe}/dashboard/action", allow_redirects=False, timeout=10,
                               data={"action": "settle_succeed", "id": first["checkout_session_id"]})
    assert settled.status_code == 303 and "error=0" in settled.headers["Location"]
    status = client.wait_for_order(first["checkout_session_id"], "refunded")
    assert status["refund_reason"] == "duplicate_purchase"
    intent = client.stripe_api("GET", f"/checkout/sessions/{first['checkout_session_id']}")["payment_intent"]
    [refund] = client.stripe_api("GET", f"/refunds?payment_intent={intent}")["data"]
    assert (refund["reason"], refund["amount"], refund["metadata"]["order_id"]) == ("duplicate", 4900,
                                                                                   first["order_id"])
    assert client.call("GET", f"/checkout/{second['checkout_session_id']}").json()["status"] == "paid"
    time.sleep(1)  # (a second receipt would have been sent by now)
    assert len(_receipts(client, email)) == 1


def test_fifty_checkouts_for_one_email_make_one_order_and_one_session(client, local_stack):
    email = unique_email("flood")

    def checkout(_):
        return StackClient(local_stack.urls).checkout(SQL, email)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(checkout, range(50)))
    assert [a.status_code for a in answers] == [201] * 50, {a.status_code: a.text for a in answers}
    assert len({(a.json()["order_id"], a.json()["checkout_session_id"]) for a in answers}) == 1
    sessions = client.stripe_api("GET", "/checkout/sessions?limit=100")["data"]
    assert len([s for s in sessions if s["customer_email"] == email]) == 1


def test_replacing_a_checkout_again_and_again_is_429_with_retry_after(client):
    """The same buyer switching promotion codes back and forth (each switch a new order and session):
    the first checkout and ten replacements are answered, then 429 `rate_limited`."""
    email = unique_email("churn")
    statuses = []
    for attempt in range(12):
        body = {"course_slug": SQL, "email": email, **({"promotion_code": "LAUNCH25"} if attempt % 2 else {})}
        response = client.call("POST", "/checkout", json=body)
        statuses.append(response.status_code)
    assert statuses == [201] * 11 + [429]
    assert response.json()["error"]["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= 600
    # the buyer's open one is still answered
    assert client.call("POST", "/checkout", json={"course_slug": SQL, "email": email}).status_code == 201
