"""Account wire shapes shared by the auth and learner functions (one OpenAPI component each)."""
from typing import Literal

from pydantic import BaseModel, Field


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
