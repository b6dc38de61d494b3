"""My activity (every user): my images and storage, what I did per day, and how often my
images were viewed, over the last 7 to 90 days.

Read through ``AnalyticsService.user_analytics`` for the signed-in user themselves, the same
figures as ``GET /api/analytics/user/{userId}``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from nicegui import ui
from sqlalchemy.orm import Session

from vesalius.accounts.deps import Principal
from vesalius.analytics.models import ActivityType
from vesalius.analytics.service import AnalyticsService
from vesalius.common.errors import AppError
from vesalius.context import AppContext
from vesalius.ui import analytics_charts as charts
from vesalius.ui.analytics_cards import StatCard, cards_grid, count
from vesalius.ui.analytics_range import DEFAULT_DAYS, Period, RangeSelector
from vesalius.ui.analytics_tables import ACTIVITY_WORDS
from vesalius.ui.images import human_size
from vesalius.ui.layout import signed_in_page
from vesalius.ui.session import SignIn, Viewer
from vesalius.ui.widgets import hook, report

PATH = "/me/activity"
TOTAL_TITLES = {
    ActivityType.login: "Sign-ins",
    ActivityType.logout: "Sign-outs",
    ActivityType.login_failed: "Failed sign-ins",
    ActivityType.upload: "Uploads",
    ActivityType.view: "Images viewed",
    ActivityType.download: "Downloads",
    ActivityType.delete: "Deletions",
}


@dataclass(frozen=True)
class MyFigures:
    first_day: date
    last_day: date
    images: int
    storage_used_bytes: int
    views_of_own_images: int
    totals: dict[str, int]
    days: list[dict[str, Any]]

    @property
    def length(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def per_day(self, kind: ActivityType) -> list[int]:
        return [int(day[kind.value]) for day in self.days]


def register(ctx: AppContext) -> None:
    @signed_in_page(PATH, ctx, title="My activity", section="activity")
    async def my_activity_page(signin: SignIn, _viewer: Viewer) -> None:
        page = MyActivityPage(ctx, signin)
        try:
            first = await signin.call(page.figures(DEFAULT_DAYS))
        except AppError as failure:
            report(failure)
            return
        page.build(first)


class MyActivityPage:
    def __init__(self, ctx: AppContext, signin: SignIn) -> None:
        self.ctx = ctx
        self.signin = signin
        self.generation = 0

    def figures(self, days: int) -> Callable[[Session, Principal], MyFigures]:
        def load(session: Session, principal: Principal) -> MyFigures:
            me = principal.user
            found = AnalyticsService(self.ctx, session).user_analytics(me, me.id, days)
            return MyFigures(
                found["first_day"],
                found["last_day"],
                found["images"],
                found["storage_used_bytes"],
                found["views_of_own_images"],
                dict(found["totals"]),
                list(found["days"]),
            )

        return load

    def build(self, first: MyFigures) -> None:
        self.root = hook(ui.column().classes("w-full gap-4"), "my-activity-page")
        with self.root:
            with ui.column().classes("gap-0"):
                ui.label("My activity").classes("text-h5 text-weight-medium")
                self.range_label = hook(
                    ui.label().classes("text-body2 text-grey-7"), "my-range-label"
                )
            self.range = RangeSelector(self.change, custom=False)
            with cards_grid():
                self.images = StatCard("card-my-images", "My images", "photo_library", "blue")
                self.storage = StatCard("card-my-storage", "Storage used", "storage", "amber")
                self.seen = StatCard("card-my-views", "Image views", "visibility", "purple")
                self.logins = StatCard("card-my-logins", "Sign-ins", "login", "teal")
            with charts.chart_card(
                "What I did", "Images viewed, uploads, downloads and sign-ins per day"
            ):
                self.chart = charts.stacked_activity_chart(
                    "chart-my-activity", ["Views", "Uploads", "Downloads", "Sign-ins"]
                )
            with ui.card().classes("w-full gap-2 p-4").props("flat bordered"):
                ui.label("Totals").classes("text-subtitle1 text-weight-medium")
                with ui.element("div").classes(
                    "w-full grid gap-3 grid-cols-[repeat(auto-fill,minmax(130px,1fr))]"
                ):
                    self.totals = {kind: self._total(kind) for kind in TOTAL_TITLES}
        self._show(first)

    @staticmethod
    def _total(kind: ActivityType) -> ui.label:
        _, icon, color, background = ACTIVITY_WORDS[kind.value]
        with ui.row().classes("items-center no-wrap gap-3"):
            with ui.avatar(color=background, text_color=color, size="34px"):
                ui.icon(icon, size="18px")
            with ui.column().classes("gap-0"):
                value = hook(ui.label().classes("text-subtitle1 text-weight-medium"), "my-total")
                value.props["data-activity"] = kind.value
                ui.label(TOTAL_TITLES[kind]).classes("text-caption text-grey-7")
        return value

    async def change(self, period: Period) -> None:
        if period.days is None:
            return
        self.generation += 1
        generation = self.generation
        try:
            figures = await self.signin.call(self.figures(period.days))
        except AppError as failure:
            report(failure, into=self.range.error)
            return
        if generation == self.generation:
            self._show(figures)

    def _show(self, figures: MyFigures) -> None:
        self.range.show(figures.first_day, figures.last_day)
        self.root.props["data-days"] = str(figures.length)
        self.root.update()
        within = f"in the last {figures.length} days"
        self.range_label.set_text(
            f"{figures.first_day:%-d %b %Y} – {figures.last_day:%-d %b %Y} · "
            f"{count(figures.length, 'day')}"
        )
        totals = figures.totals
        self.images.show(
            f"{figures.images:,}", f"{count(totals.get('upload', 0), 'upload')} {within}"
        )
        self.storage.show(
            human_size(figures.storage_used_bytes), f"in {count(figures.images, 'image')}"
        )
        self.seen.show(f"{figures.views_of_own_images:,}", f"of my images, {within}")
        failed = totals.get("login_failed", 0)
        self.logins.show(f"{totals.get('login', 0):,}", f"{count(failed, 'failed attempt')}")
        charts.set_days(
            self.chart,
            [day["date"] for day in figures.days],
            figures.per_day(ActivityType.view),
            figures.per_day(ActivityType.upload),
            figures.per_day(ActivityType.download),
            figures.per_day(ActivityType.login),
        )
        for kind, label in self.totals.items():
            label.set_text(f"{totals.get(kind.value, 0):,}")
