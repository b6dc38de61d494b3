"""Analytics (administrators): summary cards and charts of a chosen range, file types,
most-viewed images, the recent-activity feed, and CSV downloads.

Everything is read through ``AnalyticsService`` as the signed-in user, so a non-administrator
is refused by the service's own check, as by ``GET /api/analytics/dashboard``. Choosing
another range asks the service again and changes the data inside the existing charts; the
page is not rebuilt.
"""

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from nicegui import ui
from sqlalchemy.orm import Session

from vesalius.accounts.deps import Principal
from vesalius.analytics.service import MAX_ACTIVITY_LIMIT
from vesalius.common.errors import AppError, Forbidden
from vesalius.context import AppContext
from vesalius.ui import analytics_charts as charts
from vesalius.ui.analytics_cards import StatCard, cards_grid, count
from vesalius.ui.analytics_csv import CsvFile, activity_csv, stats_csv, trends_csv
from vesalius.ui.analytics_data import (
    ActivityPage,
    Board,
    Overview,
    load_activity,
    load_board,
    load_overview,
)
from vesalius.ui.analytics_range import Period, RangeSelector
from vesalius.ui.analytics_tables import (
    ActivityFeed,
    file_type_table,
    most_viewed_table,
    section,
)
from vesalius.ui.images import Links, human_size
from vesalius.ui.layout import signed_in_page
from vesalius.ui.session import SignIn, Viewer
from vesalius.ui.widgets import admin_refused, hook, report

T = TypeVar("T")
TWO_COLUMNS = "w-full grid gap-4 grid-cols-1 md:grid-cols-2"


def register(ctx: AppContext) -> None:
    @signed_in_page("/analytics", ctx, title="Analytics", section="analytics")
    async def analytics_page(signin: SignIn, viewer: Viewer) -> None:
        page = AnalyticsPage(ctx, signin, viewer)
        try:
            overview = await signin.call(page.read(partial(load_overview, period=Period())))
        except Forbidden as refusal:
            admin_refused(refusal, "The analytics dashboard is for administrators.")
            with ui.row().classes("w-full justify-center"):
                hook(
                    ui.button("See my own activity", icon="timeline").props(
                        "flat no-caps href=/me/activity tag=a"
                    ),
                    "my-activity-link",
                )
            return
        except AppError as failure:
            report(failure)
            return
        page.build(overview)


class AnalyticsPage:
    def __init__(self, ctx: AppContext, signin: SignIn, viewer: Viewer) -> None:
        self.ctx = ctx
        self.signin = signin
        self.links = Links(ctx, viewer.id)
        self.period = Period()
        # Ranges can change faster than the database answers; only the newest answer counts.
        self.generation = 0

    def read(self, load: Callable[..., T]) -> Callable[[Session, Principal], T]:
        """``load(ctx, session, actor)`` as the signed-in user."""
        return lambda session, principal: load(self.ctx, session, principal.user)

    # -- layout -----------------------------------------------------------------------------
    def build(self, overview: Overview) -> None:
        self.root = hook(ui.column().classes("w-full gap-4"), "analytics-page")
        with self.root:
            self._header()
            self.range = RangeSelector(self.change, custom=True)
            with cards_grid():
                self.images = StatCard("card-images", "Images", "photo_library", "blue")
                self.users = StatCard("card-users", "Users", "group", "teal")
                self.views = StatCard("card-views", "Views", "visibility", "purple")
                self.storage = StatCard("card-storage", "Storage used", "storage", "amber")
            with ui.element("div").classes(TWO_COLUMNS):
                with charts.chart_card("Upload trends", "Uploads per day, and their size"):
                    self.upload_chart = charts.upload_chart()
                with charts.chart_card("User activity", "Views, uploads and downloads per day"):
                    self.activity_chart = charts.activity_chart()
                with charts.chart_card(
                    "Storage growth", "Size of all images at the end of each day"
                ):
                    self.storage_chart = charts.storage_chart()
                with charts.chart_card("File types", "Images by type at the end of the range"):
                    self.types_chart = charts.file_type_chart()
            with ui.element("div").classes(TWO_COLUMNS):
                with section("File type statistics", "All images now"):
                    file_type_table(overview.file_types)
                with section("Most viewed images", "All time; open one in the viewer"):
                    most_viewed_table(overview.most_viewed, self.links)
            with section("Recent activity", "Newest first, times in UTC"):
                ActivityFeed(overview.activity, self.more_activity)
        self._show(overview.board)

    def _header(self) -> None:
        with ui.row().classes("w-full items-center gap-x-4 gap-y-1"):
            with ui.column().classes("gap-0"):
                ui.label("Analytics").classes("text-h5 text-weight-medium")
                self.range_label = hook(
                    ui.label().classes("text-body2 text-grey-7"), "analytics-range-label"
                )
            ui.space()
            with hook(
                ui.dropdown_button("Export CSV", icon="download", auto_close=True).props(
                    "outline no-caps color=primary"
                ),
                "csv-menu",
            ):
                self._export_item("csv-trends", "Upload trends of this range", self.export_trends)
                self._export_item("csv-stats", "Daily statistics of this range", self.export_stats)
                self._export_item(
                    "csv-activity",
                    f"Recent activity (latest {MAX_ACTIVITY_LIMIT})",
                    self.export_activity,
                )

    @staticmethod
    def _export_item(name: str, label: str, action: Callable[[], object]) -> None:
        with hook(ui.item(on_click=action), name):
            with ui.item_section().props("avatar"):
                ui.icon("table_view", color="grey-7")
            with ui.item_section():
                ui.label(label)

    # -- the range --------------------------------------------------------------------------
    async def change(self, period: Period) -> None:
        self.generation += 1
        generation = self.generation
        try:
            board = await self.signin.call(self.read(partial(load_board, period=period)))
        except AppError as failure:
            report(failure, into=self.range.error)
            return
        if generation == self.generation:
            self.period = period
            self._show(board)

    def _show(self, board: Board) -> None:
        self.range.show(board.first_day, board.last_day)
        self.root.props["data-days"] = str(board.length)
        self.root.props["data-first"] = board.first_day.isoformat()
        self.root.props["data-last"] = board.last_day.isoformat()
        self.root.update()
        span = f"{board.first_day:%-d %b %Y} – {board.last_day:%-d %b %Y}"
        self.range_label.set_text(f"{span} · {count(board.length, 'day')} ({board.zone})")
        within = "on these days" if self.period.is_custom else f"in the last {board.length} days"
        s = board.summary
        self.images.show(f"{s.total_images:,}", f"{s.new_images:,} new {within}")
        active = "on the busiest day" if s.active_is_busiest_day else within
        self.users.show(f"{s.total_users:,}", f"{s.active_users:,} active {active}")
        self.views.show(f"{s.views:,}", f"{count(s.downloads, 'download')} {within}")
        self.storage.show(
            human_size(s.storage_used_bytes), f"{human_size(s.uploaded_bytes)} uploaded {within}"
        )
        days = [d.day for d in board.days]
        charts.set_days(
            self.upload_chart,
            days,
            [d.uploads for d in board.days],
            [d.upload_bytes for d in board.days],
        )
        charts.set_days(
            self.activity_chart,
            days,
            [d.views for d in board.days],
            [d.uploads for d in board.days],
            [d.downloads for d in board.days],
        )
        charts.set_days(self.storage_chart, days, [d.storage_used_bytes for d in board.days])
        charts.set_file_types(self.types_chart, board.file_types)

    # -- tables and downloads ---------------------------------------------------------------
    async def more_activity(self, cursor: str) -> ActivityPage | None:
        try:
            return await self.signin.call(self.read(partial(load_activity, cursor=cursor)))
        except AppError as failure:
            report(failure)
            return None

    async def export_trends(self) -> None:
        custom = self.period.is_custom
        await self._export(lambda board: trends_csv(board.days, custom=custom))

    async def export_stats(self) -> None:
        await self._export(lambda board: stats_csv(board.days))

    async def _export(self, shape: Callable[[Board], CsvFile]) -> None:
        # Read again rather than reuse the charts' data: today keeps changing.
        try:
            board = await self.signin.call(self.read(partial(load_board, period=self.period)))
        except AppError as failure:
            report(failure)
            return
        ui.download.content(*shape(board), media_type="text/csv")

    async def export_activity(self) -> None:
        load = partial(load_activity, cursor=None, limit=MAX_ACTIVITY_LIMIT)
        try:
            page = await self.signin.call(self.read(load))
        except AppError as failure:
            report(failure)
            return
        ui.download.content(*activity_csv(page.entries), media_type="text/csv")
