"""Races through the HTTP stack, with real parallelism: the local stack runs each in-flight request in
its own function environment (as Lambda does), so these requests really overlap in Lectern's code."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from support.http_client import StackClient, unique_email
from support.stack_process import E2E_WEBHOOK_SECRET

from bench.burst import sign

pytestmark = pytest.mark.stack

PASSWORD = "correct horse battery staple 42"
PARALLEL = 6
# Cold starts of the extra environments and argon2 on two cores: slower than a lone request.
SLOW = 60


def post(client: StackClient, path: str, body: dict) -> requests.Response:
    return requests.post(client.api + path, json=body, timeout=SLOW)


@pytest.fixture(scope="module")
def client(local_stack) -> StackClient:
    return StackClient(local_stack.urls)


def together(count: int, call) -> list:
    """`call(i)` from `count` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait(timeout=30)
        return call(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count), timeout=90))


def test_registering_one_email_at_once_makes_one_account(client):
    email = unique_email("race-register")
    statuses = together(PARALLEL, lambda i: post(
        client, "/auth/register", {"name": f"R{i}", "email": email, "password": PASSWORD}).status_code)
    assert sorted(statuses) == [201] + [409] * (PARALLEL - 1), statuses


def test_one_refresh_token_used_at_once_rotates_once_and_revokes_the_family(client):
    email = unique_email("race-refresh")
    tokens = client.call("POST", "/auth/register", json={"name": "R", "email": email, "password": PASSWORD}).json()
    answers = together(PARALLEL, lambda i: post(
        client, "/auth/refresh", {"refresh_token": tokens["refresh_token"]}))
    winners = [a for a in answers if a.status_code == 200]
    assert len(winners) <= 1 and all(a.status_code in (200, 401) for a in answers), [a.status_code for a in answers]
    for winner in winners:  # a reuse was seen: the family, the winner's new token included, is revoked
        again = client.call("POST", "/auth/refresh", json={"refresh_token": winner.json()["refresh_token"]})
        assert again.status_code == 401


def test_one_completed_event_delivered_at_once_grants_and_mails_once(client, local_stack):
    email = unique_email("race-webhook")
    order = client.buy("practical-sql-for-analysts", email)
    event = client.wait_for_delivery("checkout.session.completed",
                                     lambda session: session["id"] == order["checkout_session_id"])
    payload = requests.get(f"{client.stripe}/v1/events/{event['id']}", timeout=10,
                           headers={"Authorization": "Bearer sk_test_lectern"}).text
    webhook = local_stack.urls["webhook"]
    statuses = together(PARALLEL, lambda i: requests.post(
        webhook, data=payload.encode(), timeout=SLOW,
        headers={"Stripe-Signature": sign(payload, E2E_WEBHOOK_SECRET), "Content-Type": "application/json"}
    ).status_code)
    assert set(statuses) == {200}, statuses
    time.sleep(1)  # anything a late duplicate would have sent
    subjects = [m["subject"].lower() for m in client.mail_to(email)]
    assert sum("receipt" in s for s in subjects) == 1, subjects
    assert len(client.wait_for_mail(email, "/claim")) == 1


def test_guesses_at_once_get_no_more_than_the_allowed_wrong_passwords(client):
    """Each attempt is counted before its password is checked: parallel guesses cannot all pass a
    check made before any was counted (found by running the stack concurrently)."""
    from lectern.accounts.throttle import MAX_FAILURES

    email = unique_email("race-guess")
    post(client, "/auth/register", {"name": "G", "email": email, "password": PASSWORD})
    guesses = MAX_FAILURES + 5
    statuses = together(guesses, lambda i: post(
        client, "/auth/login", {"email": email, "password": f"wrong guess {i}"}).status_code)
    assert statuses.count(401) <= MAX_FAILURES, statuses
    assert set(statuses) <= {401, 429} and 429 in statuses
    # The owner is locked out for the window too (as before): the 429 says nothing about the account.
    assert post(client, "/auth/login", {"email": email, "password": PASSWORD}).status_code == 429
