"""A buyer's and a learner's view of the running local stack, over real HTTP."""
import re
import time
import uuid

import requests

TIMEOUT = 10


class StackClient:
    def __init__(self, urls: dict[str, str]):
        self.api = urls["api"]
        self.stripe = urls["stripe"]
        self.dev = urls["mailbox"].rsplit("/mailbox", 1)[0]
        self.http = requests.Session()

    # ---------------------------------------------------------------- API
    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.api + path, headers=headers, timeout=TIMEOUT,
                                 allow_redirects=False, **kwargs)

    def checkout(self, slug: str, email: str | None = None, token: str | None = None) -> requests.Response:
        body = {"course_slug": slug, **({"email": email} if email else {})}
        return self.call("POST", "/checkout", token, json=body)

    def pay(self, session_id: str, action: str = "pay") -> requests.Response:
        """What the buyer's browser does on the emulator's hosted page: a form post."""
        return self.http.post(f"{self.stripe}/pay/{session_id}", data={"action": action}, timeout=TIMEOUT,
                              allow_redirects=False)

    def wait_for_order(self, session_id: str, status: str, timeout: float = 25) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            body = self.call("GET", f"/checkout/{session_id}").json()
            if body["status"] == status or time.monotonic() > deadline:
                assert body["status"] == status, body
                return body
            time.sleep(0.2)

    def buy(self, slug: str, email: str | None = None, token: str | None = None) -> dict:
        created = self.checkout(slug, email, token)
        assert created.status_code == 201, created.text
        session_id = created.json()["checkout_session_id"]
        paid = self.pay(session_id)
        assert paid.status_code == 303 and session_id in paid.headers["Location"]
        self.wait_for_order(session_id, "paid")
        return created.json()

    # ---------------------------------------------------------------- Stripe (as the creator's dashboard)
    def stripe_api(self, method: str, path: str, **data) -> dict:
        response = self.http.request(method, f"{self.stripe}/v1{path}", data=data or None, timeout=TIMEOUT,
                                     headers={"Authorization": "Bearer sk_test_lectern"})
        assert response.status_code < 300, response.text
        return response.json()

    def refund(self, session_id: str) -> None:
        intent = self.stripe_api("GET", f"/checkout/sessions/{session_id}")["payment_intent"]
        self.stripe_api("POST", "/refunds", payment_intent=intent)
        self.wait_for_order(session_id, "refunded")
        # The order turns refunded before the same delivery revokes access: wait for the webhook's 2xx.
        self.wait_for_delivery("charge.refunded", lambda charge: charge.get("payment_intent") == intent)

    def wait_for_delivery(self, event_type: str, matches, timeout: float = 25) -> dict:
        """The first `event_type` event whose object `matches`, once the webhook answered it 2xx."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.http.get(f"{self.stripe}/v1/events", timeout=TIMEOUT,
                                   params={"type": event_type, "delivery_success": "true", "limit": 100},
                                   headers={"Authorization": "Bearer sk_test_lectern"}).json()["data"]
            found = next((e for e in events if matches(e["data"]["object"])), None)
            if found or time.monotonic() > deadline:
                assert found, f"no {event_type} delivered"
                return found
            time.sleep(0.2)

    # ---------------------------------------------------------------- mailbox
    def mail_to(self, address: str) -> list[dict]:
        messages = self.http.get(f"{self.dev}/mailbox.json", timeout=TIMEOUT).json()["messages"]
        return [m for m in messages if address in m["to"]]

    def wait_for_subject(self, address: str, text: str, timeout: float = 15) -> list[str]:
        """The subjects of the mail sent to `address`, once one contains `text` (mail is sent after the
        order turns paid, by the same webhook invocation still running in its own environment)."""
        deadline = time.monotonic() + timeout
        while True:
            subjects = [m["subject"].lower() for m in self.mail_to(address)]
            if any(text in s for s in subjects) or time.monotonic() > deadline:
                return subjects
            time.sleep(0.2)

    def wait_for_mail(self, address: str, link: str, count: int = 1, timeout: float = 15) -> list[str]:
        """The tokens of the `link` (e.g. "/claim") emails sent to `address`, once there are `count`."""
        deadline = time.monotonic() + timeout
        while True:
            tokens = [match for m in self.mail_to(address)
                      for match in re.findall(re.escape(link) + r"\?token=([A-Za-z0-9_\-]+)", m["body"])]
            if len(set(tokens)) >= count or time.monotonic() > deadline:
                assert len(set(tokens)) >= count, self.mail_to(address)
                return list(dict.fromkeys(tokens))
            time.sleep(0.2)


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"
