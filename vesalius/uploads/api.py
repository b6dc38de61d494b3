from typing import Any

import anyio
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from vesalius.accounts.deps import ViewerUser
from vesalius.common.errors import AppError
from vesalius.deps import ClientDep, ContextDep
from vesalius.imaging.ingest import IngestService
from vesalius.imaging.schemas import image_out
from vesalius.uploads.receiver import UploadReceiver
from vesalius.uploads.schemas import AlreadyStoredOut, RejectedFileOut, UploadJobOut, UploadOut

router = APIRouter(prefix="/api", tags=["images"])

MULTIPART_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                    "required": ["files"],
                }
            }
        },
    }
}


class UploadRefused(AppError):
    """Every file of the request was refused; details list each one's reason."""


@router.post(
    "/upload",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=UploadOut,
    openapi_extra=MULTIPART_BODY,
)
async def upload(
    request: Request, user: ViewerUser, ctx: ContextDep, client: ClientDep
) -> JSONResponse:
    """Upload one or many files (DICOM, PNG, JPEG, TIFF, BMP) as multipart/form-data.

    Answers 202 as soon as the files are stored: conversion runs in the background (follow
    ``jobs`` or the image's ``status``). A DICOM instance whose SOP Instance UID is already
    stored is listed in ``alreadyStored`` with the image that holds it (no second copy is
    kept, unless the server runs with ``VESALIUS_DICOM_OVERWRITE``). Refused files are listed
    in ``rejected`` with a reason and do not affect the others; when every file is refused the
    answer is the refusal itself.
    """
    receiver = UploadReceiver(ctx)
    await receiver.receive(request)
    if not receiver.staged:
        if not receiver.rejected:
            raise UploadRefused(
                "the request holds no files (use the form field 'files')", code="no_files"
            )
        first = receiver.rejected[0]
        refused = UploadRefused(
            first.message if len(receiver.rejected) == 1 else "no file was accepted",
            code=first.code if len(receiver.rejected) == 1 else "all_files_rejected",
            details={
                "rejected": [
                    RejectedFileOut.model_validate(r).model_dump(by_alias=True)
                    for r in receiver.rejected
                ]
            },
        )
        refused.status_code = first.status
        raise refused

    def record() -> UploadOut:
        with ctx.db.session() as session:
            try:
                recorded = IngestService(ctx, session).ingest(user, receiver.staged, client=client)
            except BaseException:
                receiver.discard_all()
                raise
            return UploadOut(
                images=[image_out(image) for image, _ in recorded.created],
                jobs=[
                    UploadJobOut(
                        id=job.id,
                        image_id=image.id,
                        queue=job.queue,
                        type=job.type,
                        status=job.status,
                    )
                    for image, job in recorded.created
                ],
                already_stored=[
                    AlreadyStoredOut(
                        filename=item.filename,
                        image_id=image_id,
                        sop_instance_uid=item.dicom.sop_instance_uid if item.dicom else None,
                    )
                    for item, image_id in recorded.already_stored
                ],
                rejected=[RejectedFileOut.model_validate(r) for r in receiver.rejected],
            )

    answer = await anyio.to_thread.run_sync(record)
    return JSONResponse(
        answer.model_dump(mode="json", by_alias=True), status_code=status.HTTP_202_ACCEPTED
    )
