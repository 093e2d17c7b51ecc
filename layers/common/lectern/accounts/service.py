"""Account use cases behind /auth/*: register, login, verify, forgot, reset, claim,
and sending a guest buyer's claim link again.

Each returns what the route answers (a TokenResponse or a UserEnvelope, lectern.accounts.schemas)
or raises a lectern.errors exception. Sessions (access + refresh tokens)
live in lectern.accounts.sessions; emailed tokens in lectern.accounts.tokens;
the emails themselves in lectern.accounts.mails. The routes that make Lectern
send mail count each request against the caller's limit (`client`, its IP).
"""
import re

from pynamodb.exceptions import DoesNotExist, UpdateError

from lectern.accounts import mails, passwords, sessions, throttle, tokens
from lectern.accounts.schemas import TokenResponse, UserEnvelope
from lectern.accounts.users import EmailAlreadyRegistered, create_user, get_user, user_id_for_email
from lectern.clock import iso
from lectern.errors import Conflict, EmailTaken, InvalidCredentials, InvalidInput, NotFound, TokenExpired
from lectern.models.orders import PAID, CheckoutSessionRef, Order
from lectern.models.users import OneTimeToken, User, normalize_email
from lectern.observability import logger

_LINK_INVALID = "This link is not valid or has already been used."


# ------------------------------------------------------------------ emailed tokens
def _peek(raw: str, purpose: str) -> OneTimeToken:
    """The live token behind `raw` without using it (so a rejected password does not burn the link)."""
    pk, sk = OneTimeToken.key(tokens.hash_token(raw or ""))
    try:
        token = OneTimeToken.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        raise InvalidInput(_LINK_INVALID) from None
    if token.purpose != purpose or token.used_at is not None:
        raise InvalidInput(_LINK_INVALID)
    if token.expires_at <= iso():
        raise TokenExpired()
    return token


def _consume(raw: str, purpose: str) -> OneTimeToken:
    try:
        return tokens.consume(raw, purpose)
    except tokens.TokenInvalid:
        raise InvalidInput(_LINK_INVALID) from None
    except tokens.TokenExpired:
        raise TokenExpired() from None


def _verified(now: str) -> list:
    """Update actions marking the email verified; the first verification's time is kept."""
    return [User.email_verified.set(True), User.email_verified_at.set(User.email_verified_at | now)]


def _user_of(token: OneTimeToken) -> User:
    user = get_user(token.user_id)
    if user is None or not tokens.is_current(token, user):  # a newer link of this kind was sent since
        raise InvalidInput(_LINK_INVALID)
    return user


# ------------------------------------------------------------------ use cases
def register(name: str, email_address: str, password: str, client: str | None = None) -> TokenResponse:
    throttle.check_mail_request(client)
    email_address = normalize_email(email_address)
    passwords.check_policy(password, email_address)
    try:
        user = create_user(email_address, name=name.strip(), password_hash=passwords.hash_password(password))
    except EmailAlreadyRegistered as exc:
        owner = get_user(exc.user_id)
        if owner is not None and owner.password_hash is None:
            # Bought as a guest: the safe way in is the claim link, sent to the address itself.
            mails.send_claim(owner)
        raise EmailTaken() from None
    mails.send_verification(user)
    return sessions.start(user)


def login(email_address: str, password: str) -> TokenResponse:
    email_address = normalize_email(email_address)
    throttle.take_attempt(email_address)
    user_id = user_id_for_email(email_address)
    user = get_user(user_id) if user_id else None
    # verify_password checks a dummy hash when there is no user or no password: same time, same answer.
    if not passwords.verify_password(user.password_hash if user else None, password):
        raise InvalidCredentials()
    throttle.clear(email_address)
    if passwords.needs_rehash(user.password_hash):
        user.update(actions=[User.password_hash.set(passwords.hash_password(password))])
    return sessions.start(user)


def verify_email(raw: str) -> UserEnvelope:
    token = _consume(raw, tokens.VERIFY_EMAIL)
    user = _user_of(token)
    now = iso()
    user.update(actions=[*_verified(now), User.updated_at.set(now)])
    return UserEnvelope(user=sessions.user_view(user))


def forgot_password(email_address: str, client: str | None = None) -> None:
    """Always succeeds (202) so the answer does not tell whether the email has an account, and
    does the same work, request for request, either way (no timing oracle): the same two
    counters, the same two reads (the second one a miss for an unknown address), the same token
    transaction and the same SES request (mails.send_reset)."""
    throttle.check_mail_request(client)
    email_address = normalize_email(email_address)
    if not throttle.allow_mail_to(email_address):
        return  # this address had its share of mails for now: nothing more, and the same answer
    user_id = user_id_for_email(email_address)
    mails.send_reset(get_user(user_id or tokens.DECOY_USER_ID))


def reset_password(raw: str, password: str) -> TokenResponse:
    user = _user_of(_peek(raw, tokens.RESET_PASSWORD))
    passwords.check_policy(password, user.email)
    _consume(raw, tokens.RESET_PASSWORD)
    # Whoever reset it proved they read the mailbox, so the email is verified too.
    now = iso()
    user.update(actions=[User.password_hash.set(passwords.hash_password(password)),
                         *_verified(now), User.updated_at.set(now)])
    sessions.revoke_all(user.id, "password reset")  # sign out every other device
    return sessions.start(user)


def claim(raw: str, password: str, name: str | None = None) -> TokenResponse:
    user = _user_of(_peek(raw, tokens.CLAIM))
    passwords.check_policy(password, user.email)
    _consume(raw, tokens.CLAIM)
    now = iso()
    actions = [User.password_hash.set(passwords.hash_password(password)), *_verified(now),
               User.updated_at.set(now)]
    if name and name.strip():
        actions.append(User.name.set(name.strip()))
    try:
        # A claim only ever sets the *first* password: it can never replace one (no takeover).
        user.update(actions=actions, condition=User.password_hash.does_not_exist())
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict("This account already has a password; sign in or reset the password.") from None
        raise
    return sessions.start(user)


# Stripe's Checkout Session ids (the same shape GET /checkout/{id} accepts).
_SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")


def resend_claim(checkout_session_id: str, client: str | None = None) -> None:
    """The success page's "send the link again": a fresh claim link (superseding the last) for
    the account a paid guest purchase created, to that account's address, while it has no
    password. Whatever the case, the answer is the same 202: it tells nothing about the
    account. A malformed id is the 404 GET /checkout/{id} gives it."""
    if not _SESSION_ID.match(checkout_session_id):
        raise NotFound("No such checkout session.")
    throttle.check_mail_request(client)
    try:
        ref = CheckoutSessionRef.get(*CheckoutSessionRef.key(checkout_session_id))
        order = Order.get(*Order.key(ref.order_id), consistent_read=True)
    except DoesNotExist:
        return
    if order.status != PAID or not order.user_id:
        return  # not paid, or not fulfilled yet: the webhook sends the first link
    user = get_user(order.user_id)
    if user is None or user.password_hash is not None or user.email != normalize_email(order.email):
        return  # claimed already (sign in instead), or not this order's address
    mails.send_claim(user)
