from pydantic import Field

from vesalius.common.schemas import ApiModel
from vesalius.imaging.schemas import ImageOut
from vesalius.jobs.models import JobStatus


class UploadJobOut(ApiModel):
    id: int
    image_id: int
    queue: str
    type: str
    status: JobStatus


class RejectedFileOut(ApiModel):
    filename: str
    code: str
    message: str


class AlreadyStoredOut(ApiModel):
    """A DICOM instance that was already stored: nothing new was kept for it."""

    filename: str
    image_id: int
    sop_instance_uid: str | None


class UploadOut(ApiModel):
    images: list[ImageOut]
    jobs: list[UploadJobOut]
    rejected: list[RejectedFileOut]
    already_stored: list[AlreadyStoredOut] = Field(default_factory=list)
