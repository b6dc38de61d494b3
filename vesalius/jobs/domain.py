"""Background jobs: the jobs API, the queue monitor and the rescue of jobs whose worker died."""

from vesalius.accounts.models import Role
from vesalius.context import AppContext
from vesalius.domains import DomainHub, NavEntry
from vesalius.jobs import api, live
from vesalius.jobs.service import JobService


def rescue_jobs(ctx: AppContext) -> int:
    with ctx.db.session() as session:
        return JobService(ctx, session).rescue()


def register(hub: DomainHub) -> None:
    hub.router(api.jobs)
    hub.router(live.router)
    hub.router(api.admin)
    hub.duty("job rescue", every=lambda s: s.job_rescue_interval_seconds, run=rescue_jobs)
    hub.page("vesalius.ui.admin_queue:register")
    hub.nav(
        NavEntry(
            "Queue monitor",
            "dns",
            "/admin/queue",
            section="admin",
            menu="admin",
            roles=frozenset({Role.admin}),
            hook="nav-admin-queue",
            order=20,
        )
    )
