"""Studies: patients → studies → series → instances over the stored DICOM images, the one
access rule, the study browser and its REST API, and ``vesalius studies``."""

from vesalius.domains import DomainHub, NavEntry
from vesalius.imaging.catalogue import Catalogue
from vesalius.studies import api


def _build_catalogue(ctx):  # type: ignore[no-untyped-def]
    from vesalius.studies.catalogue import StudyCatalogue

    return StudyCatalogue(ctx)


def register(hub: DomainHub) -> None:
    hub.component(Catalogue, _build_catalogue)  # type: ignore[type-abstract]
    hub.router(api.router)
    hub.command_group("studies", "vesalius.studies.commands:app")
    hub.page("vesalius.ui.studies:register")
    hub.page("vesalius.ui.study:register")
    hub.nav(
        NavEntry(
            "Studies", "folder_shared", "/studies", section="studies", hook="nav-studies", order=15
        )
    )
