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


class UploadOut(ApiModel):
    images: list[ImageOut]
    jobs: list[UploadJobOut]
    rejected: list[RejectedFileOut]
