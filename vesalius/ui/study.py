"""One study: who and what it is, and its series as cards with a thumbnail and counts.

A series card opens its first image in the existing viewer; the numbered chips under it
open each of its instances. Data from ``StudyService.study`` and ``.series`` (the same
access rule as ``GET /api/studies/{uid}``).
"""

from dataclasses import dataclass

from nicegui import ui
from sqlalchemy.orm import Session

from vesalius.accounts.deps import Principal
from vesalius.common.errors import AppError, NotFound
from vesalius.context import AppContext
from vesalius.studies.schemas import (
    InstanceOut,
    SeriesOut,
    StudyOut,
    instance_out,
    series_out,
    study_out,
)
from vesalius.studies.service import StudyService
from vesalius.ui.gallery_grid import GRID_CLASSES
from vesalius.ui.images import Links
from vesalius.ui.layout import signed_in_page
from vesalius.ui.session import SignIn, Viewer
from vesalius.ui.studies import person
from vesalius.ui.widgets import empty_state, hook, report

# A series with more instances than this shows the first ones' chips and a count.
MAX_CHIPS = 60


@dataclass(frozen=True)
class SeriesView:
    series: SeriesOut
    instances: list[InstanceOut]


@dataclass(frozen=True)
class StudyView:
    study: StudyOut
    series: list[SeriesView]


def register(ctx: AppContext) -> None:
    @signed_in_page("/studies/{study_uid}", ctx, title="Study", section="studies")
    async def study_page(signin: SignIn, viewer: Viewer, study_uid: str) -> None:
        def load(session: Session, principal: Principal) -> StudyView:
            service = StudyService(ctx, session)
            detail = service.study(principal.user, study_uid)
            views = []
            for row in detail.series:
                instances = service.series(
                    principal.user, study_uid, row["SeriesInstanceUID"]
                ).instances
                views.append(
                    SeriesView(
                        series_out(row, detail.thumbnails.get(row["series_pk"])),
                        [instance_out(i) for i in instances],
                    )
                )
            return StudyView(study_out(detail.study), views)

        try:
            view = await signin.call(load)
        except NotFound:
            _not_found()
            return
        except AppError as failure:
            report(failure)
            return
        ui.page_title(f"{person(view.study.patient_name) or 'Study'} · Vesalius")
        _build(view, Links(ctx, viewer.id))


def _not_found() -> None:
    ui.status_code(404)
    card = empty_state(
        "study-not-found",
        icon="folder_off",
        title="Study not found",
        text="There is no such study, or you may not see it. Studies you sent are listed "
        "under Studies.",
    )
    with card:
        ui.button("Back to the studies", icon="folder_shared").props(
            "flat no-caps href=/studies tag=a"
        )


def _facts(study: StudyOut) -> list[tuple[str, str]]:
    return [
        ("Patient ID", study.patient_id or "—"),
        ("Birth date", study.patient_birth_date.isoformat() if study.patient_birth_date else "—"),
        ("Sex", study.patient_sex or "—"),
        ("Study date", study.study_date.isoformat() if study.study_date else "—"),
        ("Accession", study.accession_number or "—"),
        ("Modalities", ", ".join(study.modalities) or "—"),
        ("Referring physician", person(study.referring_physician_name) or "—"),
        ("Series / images", f"{study.number_of_series} / {study.number_of_instances}"),
    ]


def _build(view: StudyView, links: Links) -> None:
    study = view.study
    with ui.row().classes("w-full items-center gap-2"):
        ui.button(icon="arrow_back").props("flat round dense href=/studies tag=a").tooltip(
            "All studies"
        )
        hook(ui.label(person(study.patient_name) or "Unnamed patient"), "study-patient").classes(
            "text-h5 text-weight-medium"
        )
        ui.label(study.study_description or "").classes("text-h6 text-grey-7")
    with (
        hook(ui.card(), "study-facts").props("flat bordered").classes("w-full"),
        ui.element("div").classes(
            "w-full grid gap-x-6 gap-y-2 grid-cols-[repeat(auto-fill,minmax(180px,1fr))]"
        ),
    ):
        for label, value in _facts(study):
            with ui.column().classes("gap-0"):
                ui.label(label).classes("text-caption text-grey-7")
                hook(ui.label(value), "study-fact").classes("text-body2").props(
                    f'data-fact="{label}"'
                )
    ui.label("Series").classes("text-h6 q-mt-sm")
    with hook(ui.element("div").classes(GRID_CLASSES), "series-grid"):
        for series in view.series:
            _series_card(series, links)


def _series_card(view: SeriesView, links: Links) -> None:
    series = view.series
    first = view.instances[0].image_id if view.instances else None
    with (
        hook(ui.card(), "series-card")
        .props(f'flat bordered data-uid="{series.series_instance_uid}"')
        .classes("w-full p-0 gap-0 overflow-hidden")
    ):
        with (
            ui.link(target=f"/images/{first}" if first else "#")
            .classes("block w-full no-underline")
            .props('data-testid="series-open"'),
            ui.element("div").classes(
                "w-full aspect-square bg-grey-10 relative-position flex flex-center"
            ),
        ):
            ui.icon("image", size="3rem", color="grey-7").classes("absolute")
            if series.thumbnail_image_id is not None:
                # Until the thumbnail is made (409) the icon behind it shows.
                hook(
                    ui.element("img")
                    .props(
                        f'src="{links.thumbnail(series.thumbnail_image_id)}" '
                        "onerror=\"this.style.visibility='hidden'\""
                    )
                    .classes("w-full h-full relative object-contain"),
                    "series-thumbnail",
                )
            ui.badge(series.modality or "?", color="primary").classes("absolute-top-left q-ma-sm")
        with ui.column().classes("w-full px-3 py-2 gap-1"):
            title = f"{series.series_number or '—'} · {series.series_description or 'Series'}"
            hook(ui.label(title), "series-title").classes(
                "text-body2 text-weight-medium ellipsis w-full"
            )
            count = series.number_of_instances
            hook(ui.label(f"{count} image{'s' if count != 1 else ''}"), "series-count").classes(
                "text-caption text-grey-7"
            )
            with ui.row().classes("gap-1"):
                for instance in view.instances[:MAX_CHIPS]:
                    number = instance.instance_number
                    hook(
                        ui.link(
                            str(number if number is not None else "·"),
                            target=f"/images/{instance.image_id}",
                        ),
                        "instance-link",
                    ).classes(
                        "text-caption no-underline px-1 rounded-borders bg-grey-3 text-grey-9"
                    )
                if len(view.instances) > MAX_CHIPS:
                    ui.label(f"+{len(view.instances) - MAX_CHIPS}").classes(
                        "text-caption text-grey-7"
                    )
