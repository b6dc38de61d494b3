"""The study browser: every study the user may see, searchable by patient, date range,
modality and accession, sortable, a page at a time; one click opens the study.

Rows come from ``StudyService.search`` (the same query and access rule as ``GET
/api/studies``): "newest" pages by cursor, the other sorts by offset.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from nicegui import ui
from sqlalchemy.orm import Session

from vesalius.accounts.deps import Principal
from vesalius.common.errors import AppError, BadRequest
from vesalius.context import AppContext
from vesalius.studies.api import TOTAL_CAP
from vesalius.studies.filters import StudyFilter, study_query
from vesalius.studies.schemas import StudyOut, study_out
from vesalius.studies.service import StudyService
from vesalius.ui.gallery_filters import HALF_ON_PHONES, MODALITIES
from vesalius.ui.layout import signed_in_page
from vesalius.ui.session import SignIn, Viewer
from vesalius.ui.widgets import error_label, hook, readable, report

PAGE_SIZE = 25
ALL = ""
SORTS = {"newest": "Last received", "date": "Study date", "patient": "Patient name"}


@dataclass(frozen=True)
class Choices:
    patient: str = ""
    accession: str = ""
    modality: str = ALL
    date_from: str = ""
    date_to: str = ""
    sort: str = "newest"

    def study_filter(self) -> StudyFilter:
        return StudyFilter(
            patient_text=self.patient.strip() or None,
            accession=self.accession.strip() or None,
            modality=self.modality or None,
            date_from=_day(self.date_from),
            date_to=_day(self.date_to),
        )


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise BadRequest("dates look like 2024-03-14", code="invalid_date") from None


@dataclass(frozen=True)
class Listing:
    studies: list[StudyOut]
    total: int
    capped: bool
    next_cursor: str | None
    next_offset: int | None


def person(name: str | None) -> str:
    """DICOM person names use ^ between parts: "DOE^JANE" reads "DOE JANE"."""
    return " ".join(part for part in (name or "").split("^") if part)


def register(ctx: AppContext) -> None:
    @signed_in_page("/studies", ctx, title="Studies", section="studies")
    async def studies_page(signin: SignIn, viewer: Viewer) -> None:
        page = StudiesPage(ctx, signin)
        try:
            first = await signin.call(page.listing(Choices(), cursor=None, offset=0))
        except AppError as failure:
            report(failure)
            return
        page.build(first)


COLUMNS: list[dict[str, Any]] = [
    {"name": "patient", "label": "Patient", "field": "patient", "align": "left"},
    {"name": "patientId", "label": "Patient ID", "field": "patientId", "align": "left"},
    {"name": "date", "label": "Study date", "field": "date", "align": "left"},
    {"name": "modalities", "label": "Modality", "field": "modalities", "align": "left"},
    {"name": "description", "label": "Description", "field": "description", "align": "left"},
    {"name": "accession", "label": "Accession", "field": "accession", "align": "left"},
    {"name": "series", "label": "Series", "field": "series", "align": "right"},
    {"name": "instances", "label": "Images", "field": "instances", "align": "right"},
]


def _row(study: StudyOut) -> dict[str, Any]:
    return {
        "uid": study.study_instance_uid,
        "patient": person(study.patient_name) or "—",
        "patientId": study.patient_id or "—",
        "date": study.study_date.isoformat() if study.study_date else "—",
        "modalities": ", ".join(study.modalities) or "—",
        "description": study.study_description or "—",
        "accession": study.accession_number or "—",
        "series": study.number_of_series,
        "instances": study.number_of_instances,
    }


class StudiesPage:
    def __init__(self, ctx: AppContext, signin: SignIn) -> None:
        self.ctx = ctx
        self.signin = signin
        self.choices = Choices()
        self.next_cursor: str | None = None
        self.next_offset: int | None = None
        self.shown = 0
        self.generation = 0  # only the answer to the newest filter counts

    def listing(
        self, choices: Choices, *, cursor: str | None, offset: int
    ) -> Callable[[Session, Principal], Listing]:
        def load(session: Session, principal: Principal) -> Listing:
            query = study_query(
                choices.study_filter(),
                sort=choices.sort,
                limit=PAGE_SIZE,
                offset=offset,
                cursor=cursor,
            )
            service = StudyService(self.ctx, session)
            page = service.search(principal.user, query)
            more_by_offset = page.has_more and choices.sort != "newest"
            total = service.count(principal.user, query, cap=TOTAL_CAP + 1)
            return Listing(
                studies=[study_out(row) for row in page.rows],
                total=min(total, TOTAL_CAP),
                capped=total > TOTAL_CAP,
                next_cursor=str(page.next_after_id) if page.next_after_id else None,
                next_offset=offset + len(page.rows) if more_by_offset else None,
            )

        return load

    # -- layout -----------------------------------------------------------------------------
    def build(self, first: Listing) -> None:
        with ui.row().classes("w-full items-center"):
            ui.label("Studies").classes("text-h5 text-weight-medium")
            ui.space()
            self.summary = hook(ui.label().classes("text-body2 text-grey-7"), "studies-summary")
        self._filter_bar()
        self.error = error_label("studies-error")
        self.table = hook(
            ui.table(columns=COLUMNS, rows=[], row_key="uid")
            .props("flat bordered wrap-cells hide-pagination")
            .classes("w-full"),
            "studies-table",
        )
        self.table.pagination = {"rowsPerPage": 0}
        # Every cell is a real link to the study (middle-click opens a tab), so the whole row
        # is one click target.
        self.table.add_slot(
            "body",
            r"""
            <q-tr :props="props" data-testid="study-row" :data-uid="props.row.uid">
              <q-td v-for="col in props.cols" :key="col.name" :props="props" class="p-0">
                <a :href="'/studies/' + props.row.uid"
                   class="block px-4 py-2 no-underline text-grey-9">{{ col.value }}</a>
              </q-td>
            </q-tr>
            """,
        )
        self.empty = hook(
            ui.label().classes("w-full text-center text-grey-7 py-12"), "studies-empty"
        )
        with ui.row().classes("w-full justify-center"):
            self.more = hook(
                ui.button("Show more studies", icon="expand_more", on_click=self.load_more).props(
                    "flat no-caps"
                ),
                "studies-more",
            )
        self._show(first, replace=True)

    def _filter_bar(self) -> None:
        with ui.row().classes("w-full items-center gap-3"):
            patient = hook(
                ui.input(
                    placeholder="Patient name or ID",
                    on_change=lambda e: self.change(patient=e.value or ""),
                )
                .props("outlined dense clearable debounce=300")
                .classes("w-64 max-sm:w-full"),
                "studies-patient",
            )
            with patient.add_slot("prepend"):
                ui.icon("search")
            hook(
                ui.input(
                    placeholder="Accession",
                    on_change=lambda e: self.change(accession=e.value or ""),
                )
                .props("outlined dense clearable debounce=300")
                .classes(HALF_ON_PHONES),
                "studies-accession",
            )
            hook(
                ui.select(
                    {ALL: "All modalities", **{m: m for m in MODALITIES}},
                    value=ALL,
                    on_change=lambda e: self.change(modality=e.value or ""),
                )
                .props("outlined dense options-dense")
                .classes(HALF_ON_PHONES),
                "studies-modality",
            )
            for name, label, field in (
                ("studies-from", "Study date from", "date_from"),
                ("studies-to", "Study date to", "date_to"),
            ):
                hook(
                    ui.input(
                        label,
                        on_change=lambda e, field=field: self.change(**{field: e.value or ""}),
                    )
                    .props("outlined dense stack-label type=date")
                    .classes(HALF_ON_PHONES),
                    name,
                )
            hook(
                ui.select(
                    SORTS,
                    value="newest",
                    label="Sort by",
                    on_change=lambda e: self.change(sort=e.value or "newest"),
                )
                .props("outlined dense options-dense")
                .classes(HALF_ON_PHONES),
                "studies-sort",
            )

    def _show(self, listing: Listing, *, replace: bool) -> None:
        rows = [_row(s) for s in listing.studies]
        if replace:
            self.table.rows = rows
            self.shown = len(rows)
        else:
            self.table.rows = [*self.table.rows, *rows]
            self.shown += len(rows)
        self.table.update()
        self.next_cursor, self.next_offset = listing.next_cursor, listing.next_offset
        self.more.set_visibility(self.next_cursor is not None or self.next_offset is not None)
        self.table.set_visibility(self.shown > 0)
        self.empty.set_visibility(self.shown == 0)
        self.empty.set_text(
            "No studies yet. DICOM files you upload in the gallery appear here by study."
            if self.choices == Choices()
            else "No studies match these filters."
        )
        self.summary.set_text(
            f"{self.shown} of {listing.total} stud{'y' if listing.total == 1 else 'ies'}"
        )

    # -- loading ----------------------------------------------------------------------------
    async def change(self, **change: Any) -> None:
        choices = replace(self.choices, **change)
        if choices == self.choices:
            return
        self.choices = choices
        self.generation += 1
        generation = self.generation
        try:
            listing = await self.signin.call(self.listing(choices, cursor=None, offset=0))
        except BadRequest as refusal:
            self.error.set_text(readable(refusal))
            return
        except AppError as failure:
            report(failure)
            return
        self.error.set_text("")
        if generation == self.generation:
            self._show(listing, replace=True)

    async def load_more(self) -> None:
        generation = self.generation
        try:
            listing = await self.signin.call(
                self.listing(self.choices, cursor=self.next_cursor, offset=self.next_offset or 0)
            )
        except AppError as failure:
            report(failure)
            return
        if generation == self.generation:
            self._show(listing, replace=False)
