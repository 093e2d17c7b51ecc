"""Accounts: register, login, sessions, emailed tokens, guest claim, and access-token checks."""
import base64
import dataclasses
import json
import re
import statistics
import time
from datetime import timedelta
from urllib.parse import unquote

import jwt
import pytest
from argon2 import PasswordHasher, Type
from moto.ses.models import ses_backends

from lectern_dev import route_models
from support.factories import make_course
from lectern.accounts import mails, passwords, throttle, tokens
from lectern.accounts.users import create_user, ensure_user_for_email
from lectern.clock import iso
from lectern.entitlements import service as entitlements
from lectern.models.users import LoginThrottle, OneTimeToken, OutboxMail, User

SIGNING_KEY = "test-only-hs256-signing-key-0123456789abcdefghijklmnopqrstuvwxyz"
PASSWORD = "Correct-horse-42"


@pytest.fixture(autouse=True)
def signing_key(monkeypatch):
    monkeypatch.setenv("AUTH_SIGNING_KEY", SIGNING_KEY)


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch):
    # Still argon2id, with tiny memory: production parameters cost ~0.2 s per hash.
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


def test_production_password_hashing_is_argon2id_rfc9106():
    assert passwords.PROFILE.type is Type.ID
    assert (passwords.PROFILE.memory_cost, passwords.PROFILE.time_cost) == (65536, 3)
    stored = PasswordHasher.from_parameters(passwords.PROFILE).hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PASSWORD not in stored


# ------------------------------------------------------------------ helpers
def mails_to(address: str) -> list:
    return [m for m in ses_backends["123456789012"]["us-east-1"].sent_messages
            if address in m.destinations.get("ToAddresses", [])]


def real_mails() -> list:
    """Every mail sent, but the forgot-password decoys (to SES's mailbox simulator)."""
    return [m for m in ses_backends["123456789012"]["us-east-1"].sent_messages
            if mails.DECOY_RECIPIENT not in m.destinations.get("ToAddresses", [])]


def token_in(message, path: str) -> str:
    match = re.search(rf"http://127\.0\.0\.1:3002{re.escape(path)}\?token=([^\s]+)", message.body)
    assert match, message.body
    return unquote(match.group(1))


def register(api, email="ada@example.com", password=PASSWORD, name="Ada"):
    return api.post("/auth/register", body={"name": name, "email": email, "password": password})


def login(api, email="ada@example.com", password=PASSWORD):
    return api.post("/auth/login", body={"email": email, "password": password})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def expire(raw_token: str) -> None:
    token = OneTimeToken.get(*OneTimeToken.key(tokens.hash_token(raw_token)))
    token.update(actions=[OneTimeToken.expires_at.set("2000-01-01T00:00:00Z")])


def claims(**overrides) -> dict:
    now = int(time.time())
    return {"sub": "someone", "iat": now, "exp": now + 600, "iss": "lectern", "aud": "lectern-api",
            "jti": "x", **overrides}


# ------------------------------------------------------------------ register
def test_register_signs_in_and_sends_a_verification_link(api):
    response = register(api, email=" Ada@Example.com ")
    assert response["statusCode"] == 201
    body = response["json"]
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["refresh_token"]
    assert body["user"] == {"id": body["user"]["id"], "name": "Ada", "email": "ada@example.com",
                            "email_verified": False, "email_verified_at": None}
    decoded = jwt.decode(body["access_token"], SIGNING_KEY, algorithms=["HS256"], audience="lectern-api")
    assert decoded["sub"] == body["user"]["id"] and decoded["iss"] == "lectern" and decoded["jti"]
    assert decoded["exp"] - decoded["iat"] == 900
    assert response["headers"]["Cache-Control"] == "no-store"
    [mail] = mails_to("ada@example.com")
    assert token_in(mail, "/verify-email")

    me = api.get("/me", headers=bearer(body["access_token"]))
    assert me["statusCode"] == 200 and me["json"]["user"]["email"] == "ada@example.com"


def test_register_an_existing_email_is_409(api):
    register(api)
    response = register(api, email="ADA@example.com")
    assert response["statusCode"] == 409 and response["json"]["error"]["code"] == "email_taken"


def test_registering_a_guest_purchase_email_is_409_and_sends_a_fresh_claim_link(api):
    ensure_user_for_email("guest@example.com")
    response = register(api, email="guest@example.com")
    assert response["statusCode"] == 409 and response["json"]["error"]["code"] == "email_taken"
    [mail] = mails_to("guest@example.com")
    claimed = api.post("/auth/claim", body={"token": token_in(mail, "/claim"), "password": PASSWORD})
    assert claimed["statusCode"] == 200


@pytest.mark.parametrize("password, problem", [
    ("Short-1", "at least 10"),
    ("alllowercaseletters", "two of"),
    ("ada@example.com", "email"),
    ("x" * 129 + "A", "at most 128"),
])
def test_password_policy_is_a_422_on_the_password_field(api, password, problem):
    response = register(api, password=password)
    assert response["statusCode"] == 422
    error = response["json"]["error"]
    assert error["code"] == "validation_failed"
    assert any(problem in text for text in error["details"]["password"])


def test_malformed_body_is_400_and_missing_fields_422(api):
    raw = api.post("/auth/register", body="{not json", headers={"content-type": "application/json"})
    assert raw["statusCode"] == 400 and raw["json"]["error"]["code"] == "bad_request"
    missing = api.post("/auth/login", body={"email": "not-an-email"})
    assert missing["statusCode"] == 422
    assert set(missing["json"]["error"]["details"]) == {"email", "password"}


# ------------------------------------------------------------------ login
def test_login_returns_tokens(api):
    register(api)
    response = login(api, email="ADA@example.com")
    assert response["statusCode"] == 200 and response["json"]["user"]["email"] == "ada@example.com"


def test_unknown_email_wrong_password_and_unclaimed_account_get_the_identical_answer(api):
    register(api)
    ensure_user_for_email("guest@example.com")
    answers = [login(api, email="nobody@example.com"), login(api, password="Wrong-password-1"),
               login(api, email="guest@example.com")]
    for answer in answers:
        assert answer["statusCode"] == 401
        assert answer["json"] == {"error": {"code": "invalid_credentials",
                                            "message": "The email or password is not correct."}}
    assert len({json.dumps(a["json"]) for a in answers}) == 1


def test_login_checks_a_dummy_hash_when_there_is_no_password_to_check(monkeypatch):
    class Spy:
        def __init__(self, inner):
            self.inner, self.checked = inner, []

        def hash(self, password):
            return self.inner.hash(password)

        def verify(self, stored, password):
            self.checked.append(stored)
            return self.inner.verify(stored, password)

    spy = Spy(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", spy)
    assert passwords.verify_password(None, PASSWORD) is False  # unknown user or unclaimed account
    assert spy.checked == [passwords._dummy_hash()]  # the same argon2 work as a real check: no timing oracle


def test_repeated_failures_for_one_email_are_throttled(api):
    register(api)
    for _ in range(5):
        assert login(api, password="Wrong-password-1")["statusCode"] == 401
    blocked = login(api)  # even the right password, until the window ends
    assert blocked["statusCode"] == 429 and blocked["json"]["error"]["code"] == "rate_limited"
    assert 0 < int(blocked["headers"]["Retry-After"]) <= 900
    # Counted per email, whether or not it has an account; other emails are not affected.
    assert login(api, email="other@example.com")["statusCode"] == 401

    # The window ends by its own expiry (TTL deletion lags): then the right password works again.
    item = LoginThrottle.get(*LoginThrottle.key("ada@example.com"))
    assert item.failures == 5
    item.update(actions=[LoginThrottle.expires_at_epoch.set(int(time.time()) - 1)])
    assert login(api)["statusCode"] == 200


def test_a_failure_after_an_expired_window_starts_a_new_window(api):
    for _ in range(5):
        login(api, email="x@example.com", password="Wrong-password-1")
    item = LoginThrottle.get(*LoginThrottle.key("x@example.com"))
    item.update(actions=[LoginThrottle.expires_at_epoch.set(int(time.time()) - 1)])
    assert login(api, email="x@example.com", password="Wrong-password-1")["statusCode"] == 401
    item.refresh()
    assert item.failures == 1 and item.expires_at_epoch > time.time()


# ------------------------------------------------------------------ refresh / logout
def test_refresh_rotates_and_a_reused_token_revokes_the_whole_family(api):
    first = register(api)["json"]["refresh_token"]
    second = api.post("/auth/refresh", body={"refresh_token": first})
    assert second["statusCode"] == 200
    newer = second["json"]["refresh_token"]
    assert newer != first and second["json"]["access_token"]

    reused = api.post("/auth/refresh", body={"refresh_token": first})
    assert reused["statusCode"] == 401 and reused["json"]["error"]["code"] == "unauthenticated"
    # The thief (or the user) holding `newer` is signed out too.
    assert api.post("/auth/refresh", body={"refresh_token": newer})["statusCode"] == 401


def test_other_sessions_survive_a_reuse_in_one_family(api):
    register(api)
    phone = login(api)["json"]["refresh_token"]
    laptop = login(api)["json"]["refresh_token"]
    api.post("/auth/refresh", body={"refresh_token": phone})
    api.post("/auth/refresh", body={"refresh_token": phone})  # reuse: the phone family dies
    assert api.post("/auth/refresh", body={"refresh_token": laptop})["statusCode"] == 200


def test_unknown_and_expired_refresh_tokens_are_401(api):
    assert api.post("/auth/refresh", body={"refresh_token": "nope"})["statusCode"] == 401
    raw = register(api)["json"]["refresh_token"]
    expire(raw)
    assert api.post("/auth/refresh", body={"refresh_token": raw})["statusCode"] == 401


def test_refresh_is_five_requests(api):
    """#8 on the token already read (GetItem, then its conditional UpdateItem), the family's
    conditional UpdateItem, #5, and the next token's PutItem."""
    from support.request_counter import count_requests

    raw = register(api)["json"]["refresh_token"]
    with count_requests() as counter:
        response = api.post("/auth/refresh", body={"refresh_token": raw})
    assert response["statusCode"] == 200
    assert counter.by_operation() == {"GetItem": 2, "UpdateItem": 2, "PutItem": 1}


def test_a_token_used_between_the_read_and_the_write_counts_as_reuse(api, monkeypatch):
    """Two requests present the same token at once: both read it unused, only one write lands;
    the other is a reuse and ends the family (including the winner's new token)."""
    from lectern.accounts import sessions

    raw = register(api)["json"]["refresh_token"]
    winner = {}
    real_lookup = sessions._lookup

    def lookup_then_lose_the_race(presented):
        token = real_lookup(presented)
        monkeypatch.setattr(sessions, "_lookup", real_lookup)
        winner.update(dataclasses.asdict(sessions.rotate(presented)))  # the other request, in-process (the runner is busy)
        return token

    monkeypatch.setattr(sessions, "_lookup", lookup_then_lose_the_race)
    loser = api.post("/auth/refresh", body={"refresh_token": raw})
    assert winner["refresh_token"]
    assert loser["statusCode"] == 401 and loser["json"]["error"]["code"] == "unauthenticated"
    assert api.post("/auth/refresh", body={"refresh_token": winner["refresh_token"]})["statusCode"] == 401


def test_logout_is_204_and_ends_the_session(api):
    raw = register(api)["json"]["refresh_token"]
    response = api.post("/auth/logout", body={"refresh_token": raw})
    assert response["statusCode"] == 204 and not response.get("body")
    assert api.post("/auth/refresh", body={"refresh_token": raw})["statusCode"] == 401
    assert api.post("/auth/logout", body={"refresh_token": raw})["statusCode"] == 204  # idempotent
    assert api.post("/auth/logout", body={"refresh_token": "unknown"})["statusCode"] == 204


# ------------------------------------------------------------------ verify email
def test_verify_email_once(api):
    register(api)
    raw = token_in(mails_to("ada@example.com")[0], "/verify-email")
    response = api.post("/auth/verify-email", body={"token": raw})
    assert response["statusCode"] == 200 and response["json"]["user"]["email_verified"] is True
    again = api.post("/auth/verify-email", body={"token": raw})
    assert again["statusCode"] == 400 and again["json"]["error"]["code"] == "bad_request"


def test_verify_email_records_when_and_keeps_the_first_time(api):
    signed_up = register(api)["json"]
    raw = token_in(mails_to("ada@example.com")[0], "/verify-email")
    before = iso()
    response = api.post("/auth/verify-email", body={"token": raw})
    after = iso()
    verified_at = response["json"]["user"]["email_verified_at"]
    assert before <= verified_at <= after
    assert api.get("/me", headers=bearer(signed_up["access_token"]))["json"]["user"]["email_verified_at"] == verified_at
    user = User.get(*User.key(signed_up["user"]["id"]))
    assert (user.email_verified, user.email_verified_at) == (True, verified_at)

    # A later proof of the mailbox (a password reset) leaves the first verification's time.
    user.update(actions=[User.email_verified_at.set("2020-01-01T00:00:00Z")])
    api.post("/auth/password/forgot", body={"email": "ada@example.com"})
    reset = token_in(mails_to("ada@example.com")[-1], "/reset-password")
    response = api.post("/auth/password/reset", body={"token": reset, "password": "Brand-new-pass-7"})
    assert response["json"]["user"]["email_verified_at"] == "2020-01-01T00:00:00Z"


def test_reset_verifies_an_unverified_email_from_now(api):
    register(api)
    api.post("/auth/password/forgot", body={"email": "ada@example.com"})
    reset = token_in(mails_to("ada@example.com")[-1], "/reset-password")
    before = iso()
    user = api.post("/auth/password/reset", body={"token": reset, "password": "Brand-new-pass-7"})["json"]["user"]
    assert user["email_verified"] is True and before <= user["email_verified_at"] <= iso()


def test_expired_verification_token_is_410(api):
    user = create_user("late@example.com", password_hash="x")
    issued = tokens.issue(tokens.VERIFY_EMAIL, user.id, lifetime=timedelta(seconds=-1))
    response = api.post("/auth/verify-email", body={"token": issued.raw})
    assert response["statusCode"] == 410 and response["json"]["error"]["code"] == "token_expired"


def test_a_token_for_another_purpose_is_refused(api):
    user = create_user("mix@example.com", password_hash="x")
    issued = tokens.issue(tokens.VERIFY_EMAIL, user.id)
    assert api.post("/auth/password/reset", body={"token": issued.raw, "password": PASSWORD})["statusCode"] == 400


# ------------------------------------------------------------------ forgot / reset
def test_forgot_is_202_for_everyone_and_emails_only_existing_accounts(api):
    register(api)
    before = len(real_mails())
    unknown = api.post("/auth/password/forgot", body={"email": "nobody@example.com"})
    known = api.post("/auth/password/forgot", body={"email": "ada@example.com"})
    assert unknown["statusCode"] == known["statusCode"] == 202
    assert unknown["json"] == known["json"]
    assert len(real_mails()) == before + 1
    assert mails_to("nobody@example.com") == []
    assert token_in(mails_to("ada@example.com")[-1], "/reset-password")
    # The unknown address's decoy (the same work, for the timing) went to SES's mailbox simulator,
    # with a link that works nowhere.
    [decoy] = mails_to(mails.DECOY_RECIPIENT)
    assert api.post("/auth/password/reset", body={"token": token_in(decoy, "/reset-password"),
                                                  "password": PASSWORD})["statusCode"] == 400


def test_reset_sets_the_password_and_signs_out_other_sessions(api):
    old_session = register(api)["json"]["refresh_token"]
    api.post("/auth/password/forgot", body={"email": "ada@example.com"})
    raw = token_in(mails_to("ada@example.com")[-1], "/reset-password")

    weak = api.post("/auth/password/reset", body={"token": raw, "password": "weak"})
    assert weak["statusCode"] == 422  # and the link is not burnt by a rejected password
    response = api.post("/auth/password/reset", body={"token": raw, "password": "Brand-new-pass-7"})
    assert response["statusCode"] == 200 and response["json"]["access_token"]
    assert response["json"]["user"]["email_verified"] is True

    assert login(api)["statusCode"] == 401
    assert login(api, password="Brand-new-pass-7")["statusCode"] == 200
    assert api.post("/auth/refresh", body={"refresh_token": old_session})["statusCode"] == 401
    reused = api.post("/auth/password/reset", body={"token": raw, "password": "Another-pass-8"})
    assert reused["statusCode"] == 400


def test_expired_reset_token_is_410(api):
    user = create_user("late@example.com", password_hash="x")
    issued = tokens.issue(tokens.RESET_PASSWORD, user.id, lifetime=timedelta(seconds=-1))
    response = api.post("/auth/password/reset", body={"token": issued.raw, "password": PASSWORD})
    assert response["statusCode"] == 410


# ------------------------------------------------------------------ guest claim
def test_claim_a_guest_account_and_find_the_purchase_in_the_library(api):
    course = make_course("claimed-course")
    guest, created = ensure_user_for_email("buyer@example.com")
    assert created
    entitlements.grant(guest.id, course.id, course.slug, reason="test purchase", actor="test",
                       require_paid_order=False)
    raw = tokens.issue(tokens.CLAIM, guest.id).raw

    before = iso()
    response = api.post("/auth/claim", body={"token": raw, "password": PASSWORD, "name": "Buyer"})
    assert response["statusCode"] == 200
    verified_at = response["json"]["user"]["email_verified_at"]
    assert before <= verified_at <= iso()  # claiming proves the mailbox: verified from now
    assert response["json"]["user"] == {"id": guest.id, "name": "Buyer", "email": "buyer@example.com",
                                        "email_verified": True, "email_verified_at": verified_at}
    assert api.post("/auth/claim", body={"token": raw, "password": PASSWORD})["statusCode"] == 400

    signed_in = login(api, email="buyer@example.com")
    assert signed_in["statusCode"] == 200
    library = api.get("/me/courses", headers=bearer(signed_in["json"]["access_token"]))
    assert [c["slug"] for c in library["json"]["courses"]] == ["claimed-course"]


def test_expired_claim_token_is_410(api):
    guest, _ = ensure_user_for_email("buyer@example.com")
    issued = tokens.issue(tokens.CLAIM, guest.id, lifetime=timedelta(seconds=-1))
    response = api.post("/auth/claim", body={"token": issued.raw, "password": PASSWORD})
    assert response["statusCode"] == 410 and response["json"]["error"]["code"] == "token_expired"


def test_a_claim_never_replaces_an_existing_password(api):
    user_id = register(api)["json"]["user"]["id"]
    raw = tokens.issue(tokens.CLAIM, user_id).raw
    response = api.post("/auth/claim", body={"token": raw, "password": "Attacker-pass-99"})
    assert response["statusCode"] == 409
    assert login(api)["statusCode"] == 200


# ------------------------------------------------------------------ access tokens
def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize("case", ["missing", "not bearer", "garbage", "tampered", "alg none", "wrong key",
                                  "expired", "no exp", "wrong audience", "wrong issuer"])
def test_bad_access_tokens_are_401(api, case):
    good = register(api)["json"]["access_token"]
    user_id = jwt.decode(good, options={"verify_signature": False})["sub"]
    header, payload, signature = good.split(".")
    tokens_by_case = {
        "missing": None,
        "not bearer": f"Basic {good}",
        "garbage": "Bearer not.a.jwt",
        "tampered": "Bearer " + ".".join([header, _b64({**claims(), "sub": "someone-else"}), signature]),
        "alg none": "Bearer " + _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims(sub=user_id)) + ".",
        "wrong key": "Bearer " + jwt.encode(claims(sub=user_id), "another-key-" + "z" * 40, algorithm="HS256"),
        "expired": "Bearer " + jwt.encode(claims(sub=user_id, iat=int(time.time()) - 2000,
                                                 exp=int(time.time()) - 1000), SIGNING_KEY, algorithm="HS256"),
        "no exp": "Bearer " + jwt.encode({k: v for k, v in claims(sub=user_id).items() if k != "exp"},
                                         SIGNING_KEY, algorithm="HS256"),
        "wrong audience": "Bearer " + jwt.encode(claims(sub=user_id, aud="other"), SIGNING_KEY, algorithm="HS256"),
        "wrong issuer": "Bearer " + jwt.encode(claims(sub=user_id, iss="evil"), SIGNING_KEY, algorithm="HS256"),
    }
    value = tokens_by_case[case]
    response = api.get("/me", headers={"Authorization": value} if value else None)
    assert response["statusCode"] == 401
    assert response["json"]["error"]["code"] == "unauthenticated"
    assert response["headers"]["WWW-Authenticate"].startswith("Bearer")
    # The control: the same user's genuine token works.
    assert api.get("/me", headers=bearer(good))["statusCode"] == 200


# ------------------------------------------------------------------ OpenAPI
def test_the_auth_function_documents_every_route_with_its_models_and_errors():
    schema = json.loads(route_models.resolvers()["AuthFunction"].get_openapi_json_schema())
    paths = schema["paths"]
    expected = {
        "/auth/register": {"201", "409", "422"}, "/auth/login": {"200", "401", "429", "422"},
        "/auth/refresh": {"200", "401"}, "/auth/logout": {"204"}, "/auth/verify-email": {"200", "400", "410"},
        "/auth/password/forgot": {"202"}, "/auth/password/reset": {"200", "400", "410", "422"},
        "/auth/claim": {"200", "400", "409", "410", "422"},
    }
    for path, statuses in expected.items():
        assert statuses <= set(paths[path]["post"]["responses"]), path
        assert "requestBody" in paths[path]["post"], path
    token_response = schema["components"]["schemas"]["TokenResponse"]
    assert {"user", "access_token", "token_type", "expires_in", "refresh_token"} <= set(token_response["required"])
    assert set(schema["components"]["schemas"]["User"]["properties"]) == {"id", "name", "email", "email_verified",
                                                                        "email_verified_at"}
    register_201 = paths["/auth/register"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert register_201["$ref"].endswith("/TokenResponse")


# ------------------------------------------------------------------ no inbox flooding, no enumeration
def _forgot(api, address: str, ip: str = "203.0.113.7"):
    return api.post("/auth/password/forgot", body={"email": address}, source_ip=ip)


def test_twenty_forgot_requests_send_three_mails_and_only_the_newest_link_works(api):
    register(api)
    answers = [_forgot(api, "ada@example.com") for _ in range(20)]
    assert {a["statusCode"] for a in answers} == {202}
    assert len({json.dumps(a["json"]) for a in answers}) == 1    # the 4th to 20th look exactly like the first
    sent = [token_in(m, "/reset-password") for m in mails_to("ada@example.com") if "Reset" in m.subject]
    assert len(sent) == throttle.mails_per_address() == 3
    # Each link supersedes the one before: only the newest works.
    for old in sent[:-1]:
        refused = api.post("/auth/password/reset", body={"token": old, "password": "Brand-new-pass-7"})
        assert refused["statusCode"] == 400 and refused["json"]["error"]["code"] == "bad_request"
    assert api.post("/auth/password/reset", body={"token": sent[-1], "password": "Brand-new-pass-7"})["statusCode"] == 200
    # Unknown addresses are limited alike (their decoys), so the limit tells nothing either.
    for _ in range(5):
        assert _forgot(api, "nobody@example.com", ip="203.0.113.70")["statusCode"] == 202
    assert len(mails_to(mails.DECOY_RECIPIENT)) == 3


def test_ten_registrations_with_a_guest_email_leave_one_live_claim_link(api):
    ensure_user_for_email("guest@example.com")
    for _ in range(10):
        response = api.post("/auth/register", body={"name": "X", "email": "guest@example.com", "password": PASSWORD},
                            source_ip="203.0.113.8")
        assert response["statusCode"] == 409 and response["json"]["error"]["code"] == "email_taken"
    links = [token_in(m, "/claim") for m in mails_to("guest@example.com")]
    assert len(links) == 3
    live = [t for t in OneTimeToken.scan() if t.purpose == "claim" and t.used_at is None]
    assert len(live) == 3                                       # issued, but only the newest is current:
    for old in links[:-1]:
        assert api.post("/auth/claim", body={"token": old, "password": PASSWORD})["statusCode"] == 400
    assert api.post("/auth/claim", body={"token": links[-1], "password": PASSWORD})["statusCode"] == 200


def test_a_new_link_supersedes_even_when_the_old_one_was_read_first(api):
    """The check is also in the write: a link read as current, then superseded before it is used, fails."""
    guest, _ = ensure_user_for_email("race@example.com")
    first = tokens.issue(tokens.CLAIM, guest.id)
    token = OneTimeToken.get(*OneTimeToken.key(tokens.hash_token(first.raw)))
    tokens.issue(tokens.CLAIM, guest.id)                        # a newer link, meanwhile
    with pytest.raises(tokens.TokenInvalid):
        tokens.use(token, tokens.CLAIM)


def test_a_client_asking_for_too_many_mails_gets_429_with_retry_after(api):
    limit = throttle.mail_requests_per_client()
    for i in range(limit):
        assert _forgot(api, f"someone-{i}@example.com", ip="198.51.100.9")["statusCode"] == 202
    blocked = _forgot(api, "one-more@example.com", ip="198.51.100.9")
    assert blocked["statusCode"] == 429 and blocked["json"]["error"]["code"] == "rate_limited"
    assert 0 < int(blocked["headers"]["Retry-After"]) <= throttle.CLIENT_WINDOW_SECONDS
    assert mails_to("one-more@example.com") == [] and len(mails_to(mails.DECOY_RECIPIENT)) == limit
    # Registering (and the success page's resend) count against the same client...
    again = api.post("/auth/register", body={"name": "R", "email": "new@example.com", "password": PASSWORD},
                     source_ip="198.51.100.9")
    assert again["statusCode"] == 429
    # ...and other clients are not affected; an IPv6 client is its /64.
    assert _forgot(api, "one-more@example.com", ip="198.51.100.10")["statusCode"] == 202
    for i in range(limit):
        assert _forgot(api, f"v6-{i}@example.com", ip=f"2001:db8:1:2::{i + 1:x}")["statusCode"] == 202
    assert _forgot(api, "v6-next@example.com", ip="2001:db8:1:2:ffff::1")["statusCode"] == 429
    assert _forgot(api, "v6-next@example.com", ip="2001:db8:1:3::1")["statusCode"] == 202


def test_forgot_does_the_same_work_for_known_and_unknown_addresses(api, monkeypatch):
    """No timing oracle: the same AWS requests, in the same order, whether or not the address has
    an account (counted: this cannot be flaky), and so about the same time (medians of 15 calls)."""
    from support.request_counter import count_requests

    monkeypatch.setenv("MAIL_LIMIT_PER_CLIENT", "1000")
    known = [f"known-{i}@example.com" for i in range(15)]
    for address in known:
        create_user(address, password_hash="x")
    unknown = [f"unknown-{i}@example.com" for i in range(15)]

    def calls(address: str) -> list[tuple[str, str]]:
        from lectern.notifications import email

        email._ses.cache_clear()  # so the SES client is made, and counted, inside the block
        with count_requests() as counter:
            assert _forgot(api, address)["statusCode"] == 202
        return counter.calls

    assert calls(known[0]) == calls(unknown[0]) == [
        ("dynamodb", "UpdateItem"), ("dynamodb", "UpdateItem"),          # the client's and the address's counters
        ("dynamodb", "GetItem"), ("dynamodb", "GetItem"),                # the email's owner, then the user (or a miss)
        ("dynamodb", "TransactWriteItems"),                              # the token (cancelled for nobody)
        ("ses", "SendEmail"),                                            # the mail (to the simulator for nobody)
    ]

    def ms(address: str) -> float:
        started = time.perf_counter()
        assert _forgot(api, address)["statusCode"] == 202
        return (time.perf_counter() - started) * 1000

    # Interleaved, so a burst of load on the (shared, 2-core) machine hits both alike.
    timings = [(ms(a), ms(b)) for a, b in zip(known[1:] + known[:1], unknown[1:] + unknown[:1], strict=True)]
    known_ms = statistics.median(k for k, _ in timings)
    unknown_ms = statistics.median(u for _, u in timings)
    print(f"\nforgot-password, median of 15: known address {known_ms:.1f} ms, unknown {unknown_ms:.1f} ms")
    assert 1 / 1.5 < known_ms / unknown_ms < 1.5, (known_ms, unknown_ms)


def test_account_mails_ses_refuses_are_kept_for_the_retry(api, ses_sandbox):
    ses_sandbox("*@unverified.example")
    response = register(api, email="new@unverified.example")
    assert response["statusCode"] == 201                             # the account exists: the mail is not its gate
    assert mails_to("new@unverified.example") == []
    [mail] = list(OutboxMail.query("OUTBOX"))
    assert (mail.id, mail.kind, mail.to, mail.status) == (
        f"verify_email:{response['json']['user']['id']}", "verify_email", "new@unverified.example", "pending")
    assert mail.last_error.startswith("MessageRejected: Email address is not verified")
