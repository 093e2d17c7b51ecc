"""Account use cases behind /auth/*: register, login, verify, forgot, reset, claim.

Each returns what the route answers (a TokenResponse or a user view) or
raises an lectern.api.errors exception. Sessions (access + refresh tokens)
live in lectern.accounts.sessions; emailed tokens in lectern.accounts.tokens.
"""
from urllib.parse import quote

from pynamodb.exceptions import DoesNotExist, UpdateError

from lectern import config
from lectern.accounts import passwords, sessions, throttle, tokens
from lectern.accounts.users import EmailAlreadyRegistered, create_user, get_user, user_id_for_email
from lectern.api.errors import BadRequest, Conflict, EmailTaken, InvalidCredentials, TokenExpired
from lectern.clock import iso
from lectern.models.users import OneTimeToken, User, normalize_email
from lectern.notifications import email
from lectern.observability import logger

_LINK_INVALID = "This link is not valid or has already been used."


# ------------------------------------------------------------------ emails
def _link(path: str, raw_token: str) -> str:
    return f"{config.frontend_url()}{path}?token={quote(raw_token, safe='')}"


def _send(to: str, subject: str, text: str) -> None:
    # The account change already happened; a mail outage must not turn it into a 500.
    try:
        email.send(email.Message(to=to, subject=subject, text=text))
    except Exception:  # noqa: BLE001 - logged, and the user can ask again (forgot / register)
        logger.exception("Sending email failed", extra={"subject": subject})


def send_verification(user: User) -> None:
    issued = tokens.issue(tokens.VERIFY_EMAIL, user.id)
    _send(user.email, "Confirm your email address",
          f"Confirm your Lectern email address:\n\n{_link('/verify-email', issued.raw)}\n\n"
          f"The link works once and expires at {issued.expires_at}.")


def send_claim(user: User, order_id: str | None = None) -> None:
    issued = tokens.issue(tokens.CLAIM, user.id, order_id=order_id)
    _send(user.email, "Set a password for your Lectern account",
          "Your purchases are waiting in your Lectern library. Choose a password to open it:\n\n"
          f"{_link('/claim', issued.raw)}\n\nThe link works once and expires at {issued.expires_at}.")


def send_reset(user: User) -> None:
    issued = tokens.issue(tokens.RESET_PASSWORD, user.id)
    _send(user.email, "Reset your Lectern password",
          f"Someone (hopefully you) asked to reset your password:\n\n{_link('/reset-password', issued.raw)}\n\n"
          f"The link works once and expires at {issued.expires_at}. If it was not you, ignore this email.")


# ------------------------------------------------------------------ emailed tokens
def _peek(raw: str, purpose: str) -> OneTimeToken:
    """The live token behind `raw` without using it (so a rejected password does not burn the link)."""
    pk, sk = OneTimeToken.key(tokens.hash_token(raw or ""))
    try:
        token = OneTimeToken.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        raise BadRequest(_LINK_INVALID) from None
    if token.purpose != purpose or token.used_at is not None:
        raise BadRequest(_LINK_INVALID)
    if token.expires_at <= iso():
        raise TokenExpired()
    return token


def _consume(raw: str, purpose: str) -> OneTimeToken:
    try:
        return tokens.consume(raw, purpose)
    except tokens.TokenInvalid:
        raise BadRequest(_LINK_INVALID) from None
    except tokens.TokenExpired:
        raise TokenExpired() from None


def _verified(now: str) -> list:
    """Update actions marking the email verified; the first verification's time is kept."""
    return [User.email_verified.set(True), User.email_verified_at.set(User.email_verified_at | now)]


def _user_of(token: OneTimeToken) -> User:
    user = get_user(token.user_id)
    if user is None:
        raise BadRequest(_LINK_INVALID)
    return user


# ------------------------------------------------------------------ use cases
def register(name: str, email_address: str, password: str) -> dict:
    email_address = normalize_email(email_address)
    passwords.check_policy(password, email_address)
    try:
        user = create_user(email_address, name=name.strip(), password_hash=passwords.hash_password(password))
    except EmailAlreadyRegistered as exc:
        owner = get_user(exc.user_id)
        if owner is not None and owner.password_hash is None:
            # Bought as a guest: the safe way in is the claim link, sent to the address itself.
            send_claim(owner)
        raise EmailTaken() from None
    send_verification(user)
    return sessions.start(user)


def login(email_address: str, password: str) -> dict:
    email_address = normalize_email(email_address)
    throttle.check(email_address)
    user_id = user_id_for_email(email_address)
    user = get_user(user_id) if user_id else None
    # verify_password checks a dummy hash when there is no user or no password: same time, same answer.
    if not passwords.verify_password(user.password_hash if user else None, password):
        throttle.record_failure(email_address)
        raise InvalidCredentials()
    throttle.clear(email_address)
    if passwords.needs_rehash(user.password_hash):
        user.update(actions=[User.password_hash.set(passwords.hash_password(password))])
    return sessions.start(user)


def verify_email(raw: str) -> dict:
    token = _consume(raw, tokens.VERIFY_EMAIL)
    user = _user_of(token)
    now = iso()
    user.update(actions=[*_verified(now), User.updated_at.set(now)])
    return {"user": sessions.user_view(user)}


def forgot_password(email_address: str) -> None:
    """Always succeeds (202) so the answer does not tell whether the email has an account."""
    user_id = user_id_for_email(normalize_email(email_address))
    user = get_user(user_id) if user_id else None
    if user is not None:
        send_reset(user)


def reset_password(raw: str, password: str) -> dict:
    user = _user_of(_peek(raw, tokens.RESET_PASSWORD))
    passwords.check_policy(password, user.email)
    _consume(raw, tokens.RESET_PASSWORD)
    # Whoever reset it proved they read the mailbox, so the email is verified too.
    now = iso()
    user.update(actions=[User.password_hash.set(passwords.hash_password(password)),
                         *_verified(now), User.updated_at.set(now)])
    sessions.revoke_all(user.id, "password reset")  # sign out every other device
    return sessions.start(user)


def claim(raw: str, password: str, name: str | None = None) -> dict:
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
