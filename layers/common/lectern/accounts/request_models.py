"""What /auth/* takes: the request bodies, as pydantic models (one OpenAPI component each).

Build and test time only: the OpenAPI and the compiled request validators the deployed functions
run (`lectern.api.request_validators`) are generated from these; no deployed function imports them.
"""
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lectern.fields import Email

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
