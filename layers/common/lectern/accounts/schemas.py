"""Accounts' wire shapes, as pydantic models (one OpenAPI component each): what /auth/* takes
(the request bodies) and answers, and the user that /me answers too."""
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lectern.fields import Email

# ------------------------------------------------------------------ requests
Password = Annotated[str, Field(min_length=1, max_length=1024, description="Checked against the password policy "
                                "(10–128 characters, at least two of lowercase/uppercase/digits/symbols, "
                                "not the email address); a failure is a 422 with `details.password`.")]
RawToken = Annotated[str, Field(min_length=1, max_length=512, description="The token from the emailed link")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RegisterRequest(_Request):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    email: Email
    password: Password


class LoginRequest(_Request):
    email: Email
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class RefreshTokenRequest(_Request):
    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


class EmailedTokenRequest(_Request):
    token: RawToken


class ForgotPasswordRequest(_Request):
    email: Email


class ResetPasswordRequest(_Request):
    token: RawToken
    password: Password


class ClaimRequest(_Request):
    token: RawToken
    password: Password
    name: Name | None = None


# ------------------------------------------------------------------ answers
class User(BaseModel):
    id: str
    name: str
    email: str
    email_verified: bool
    email_verified_at: str | None = Field(description="When the email address was verified (UTC); null until then")


class UserEnvelope(BaseModel):
    user: User


class TokenResponse(BaseModel):
    user: User
    access_token: str = Field(description="JWT (HS256, 15 minutes) for `Authorization: Bearer …`")
    token_type: Literal["Bearer"] = Field(description="Always `Bearer`")
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str = Field(description="Single use: /auth/refresh answers the next one; reusing an old one "
                                           "ends the session on every device")


class ForgotPasswordAccepted(BaseModel):
    message: str


class ClaimLinkAccepted(BaseModel):
    message: str
