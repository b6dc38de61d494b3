"""Accounts: sign-in, tokens, two-factor codes and the administration of users."""

from vesalius.accounts import api
from vesalius.accounts.models import Role
from vesalius.domains import DomainHub, NavEntry


def register(hub: DomainHub) -> None:
    hub.router(api.auth)
    hub.router(api.admin_users)
    hub.page("vesalius.ui.login:register")
    hub.page("vesalius.ui.admin_users:register")
    hub.nav(
        NavEntry(
            "Users",
            "group",
            "/admin/users",
            section="admin",
            menu="admin",
            roles=frozenset({Role.admin}),
            hook="nav-admin-users",
            order=10,
        )
    )
