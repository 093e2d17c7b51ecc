"""What POST /checkout takes, as pydantic models (OpenAPI components).

Build and test time only: the OpenAPI and the compiled request validators the deployed functions
run (`lectern.api.request_validators`) are generated from these; no deployed function imports them.
"""
from pydantic import BaseModel, Field

from lectern.fields import Email, Note, PersonName


class GiftRequest(BaseModel):
    recipient_email: Email = Field(description="Who gets the course (an account is made for a new address)")
    recipient_name: PersonName | None = Field(
        default=None, description="How the gift email greets the recipient; one line, at most 100 characters")
    message: Note | None = Field(
        default=None, description="The buyer's note, quoted in the gift email as plain text; at most 500 "
                                  "characters, line breaks allowed, no other control characters")


class CheckoutRequest(BaseModel):
    course_slug: str = Field(min_length=1, max_length=100, examples=["intro-to-x"])
    email: Email | None = Field(
        default=None, description="Required for guests; ignored when signed in (the account's email is used).")
    promotion_code: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", examples=["LAUNCH20"],
        description="A customer-facing Stripe promotion code.")
    gift: GiftRequest | None = Field(
        default=None, description="Buy the course as a gift: the paid order grants it to the recipient, not the "
                                  "buyer. Not to the buyer's own address (422).")
