"""Analytics: activity recording, daily statistics, the dashboard and "My activity"."""

from vesalius.accounts.models import Role
from vesalius.analytics import api
from vesalius.analytics.tasks import daily_statistics
from vesalius.domains import DomainHub, NavEntry

# The daily duty only looks whether a day has ended; the work itself runs once a day.
CHECK_SECONDS = 60.0
NOT_ADMIN = frozenset(role for role in Role if role != Role.admin)


def register(hub: DomainHub) -> None:
    hub.router(api.router)
    hub.duty("daily statistics", every=lambda _s: CHECK_SECONDS, run=daily_statistics)
    hub.page("vesalius.ui.analytics:register")
    hub.page("vesalius.ui.my_activity:register")
    hub.nav(
        NavEntry(
            "Analytics",
            "insights",
            "/analytics",
            section="analytics",
            roles=frozenset({Role.admin}),
            hook="nav-analytics",
            order=50,
        )
    )
    hub.nav(
        NavEntry(
            "My activity",
            "timeline",
            "/me/activity",
            section="activity",
            roles=NOT_ADMIN,
            hook="nav-my-activity",
            order=50,
        )
    )
    hub.nav(
        NavEntry(
            "My activity",
            "timeline",
            "/me/activity",
            section="activity",
            menu="user",
            hook="menu-my-activity",
            order=10,
        )
    )
