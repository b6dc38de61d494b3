from typing import Annotated

from fastapi import APIRouter, Query

from vesalius.accounts.deps import AdminUser, CurrentUser
from vesalius.deps import ContextDep, ReadSessionDep, SessionDep
from vesalius.jobs.models import JobStatus
from vesalius.jobs.schemas import JobListOut, JobOut, QueueStatsOut, QueueStatsPage
from vesalius.jobs.service import JobService

jobs = APIRouter(prefix="/api/jobs", tags=["jobs"])
admin = APIRouter(prefix="/api/admin", tags=["admin"])


@jobs.get("/{job_id}", response_model=JobOut)
def get_job(job_id: int, user: CurrentUser, ctx: ContextDep, session: ReadSessionDep) -> JobOut:
    """Status and progress of a job you own (admins: any job)."""
    return JobOut.model_validate(JobService(ctx, session).get_for(user, job_id))


@admin.get("/queue/stats", response_model=QueueStatsPage)
def queue_stats(admin_user: AdminUser, ctx: ContextDep, session: ReadSessionDep) -> QueueStatsPage:
    """Per queue: waiting, active, completed, failed, delayed (retrying), jobs per minute over
    the last five minutes and the age of the oldest waiting job."""
    stats = JobService(ctx, session).stats(admin_user)
    return QueueStatsPage(queues=[QueueStatsOut.model_validate(s) for s in stats])


@admin.get("/jobs", response_model=JobListOut)
def list_jobs(
    admin_user: AdminUser,
    ctx: ContextDep,
    session: ReadSessionDep,
    status: JobStatus | None = None,
    queue: Annotated[str | None, Query(pattern="^[a-z][a-z0-9_-]{0,39}$")] = None,
    limit: int = 50,
    before_id: Annotated[int | None, Query(alias="beforeId")] = None,
) -> JobListOut:
    """Jobs, newest first; page with ``beforeId`` = the last id you saw."""
    found = JobService(ctx, session).list_jobs(
        admin_user, status=status, queue=queue, limit=limit, before_id=before_id
    )
    return JobListOut(jobs=[JobOut.model_validate(j) for j in found])


@admin.post("/jobs/{job_id}/retry", response_model=JobOut)
def retry_job(job_id: int, admin_user: AdminUser, ctx: ContextDep, session: SessionDep) -> JobOut:
    """Queue a failed or cancelled job again (409 ``job_not_retryable`` otherwise)."""
    return JobOut.model_validate(JobService(ctx, session).retry(admin_user, job_id))


@admin.post("/jobs/{job_id}/cancel", response_model=JobOut)
def cancel_job(job_id: int, admin_user: AdminUser, ctx: ContextDep, session: SessionDep) -> JobOut:
    """Cancel a waiting or running job (409 ``job_finished`` when it already ended)."""
    return JobOut.model_validate(JobService(ctx, session).cancel(admin_user, job_id))
