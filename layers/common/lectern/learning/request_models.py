"""What PUT /learn/{course_slug}/lessons/{lesson_slug}/progress takes, as a pydantic model.

Build and test time only: the OpenAPI and the compiled request validators the deployed functions
run (`lectern.api.request_validators`) are generated from it; no deployed function imports it.
"""
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from lectern.learning.schemas import MAX_POSITION_SECONDS


class ProgressRequest(BaseModel):
    """A heartbeat of the player. Numbers must be JSON integers and `completed` a JSON boolean."""

    model_config = ConfigDict(extra="ignore")

    position_seconds: Annotated[StrictInt, Field(ge=0, le=MAX_POSITION_SECONDS,
                                                 description="Seconds into the video (0 up to a week)")]
    completed: StrictBool = Field(default=False, description="true completes the lesson; false never un-completes")
