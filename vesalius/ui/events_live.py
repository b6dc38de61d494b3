"""Analytics → Live (administrators): events per second, active users, error rate and
latency charts, top routes, updated every second without rebuilding anything.

The page subscribes to the push layer's live channel (``events:live``, or one client's) in
the server, not by polling the database; every tick changes the data inside the existing
charts. If the subscription fails, the page says so and reads the windows every 2 s instead
(the seed's REST fallback) until the live feed is back.
"""

import asyncio
import contextlib
from collections import deque
from datetime import UTC, datetime
from typing import Any

from nicegui import background_tasks, ui

from vesalius.accounts.models import Role
from vesalius.accounts.permissions import ensure_role
from vesalius.common.errors import AppError, Forbidden
from vesalius.context import AppContext
from vesalius.events.live import LiveFigures, tick_message
from vesalius.events.livestream import channel_for
from vesalius.ui.analytics_cards import StatCard, cards_grid, count
from vesalius.ui.analytics_charts import COLORS, chart_card
from vesalius.ui.layout import signed_in_page
from vesalius.ui.session import SignIn, Viewer
from vesalius.ui.widgets import admin_refused, hook, report

POINTS = 60  # one a second: the last minute
POLL_SECONDS = 2.0
ALL_CLIENTS = "All clients"


def _line_chart(names: list[str], percent: bool = False) -> ui.echart:
    y_axis: dict[str, Any] = {
        "type": "value",
        "min": 0,
        "splitLine": {"lineStyle": {"color": "#eceff1"}},
    }
    if percent:
        y_axis["axisLabel"] = {":formatter": "(v) => `${(v * 100).toFixed(0)} %`"}
    return ui.echart(
        {
            "color": COLORS,
            "animation": False,  # a tick a second: animating would make the lines wobble
            "grid": {"left": 8, "right": 16, "top": 32, "bottom": 8, "containLabel": True},
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0},
            "xAxis": {"type": "category", "boundaryGap": False, "data": []},
            "yAxis": y_axis,
            "series": [{"name": n, "type": "line", "showSymbol": False, "data": []} for n in names],
        }
    ).classes("w-full h-56")


class LivePage:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.window = "5s"
        self.client: str | None = None
        self.times: deque[str] = deque(maxlen=POINTS)
        self.series: dict[str, deque[float | None]] = {
            key: deque(maxlen=POINTS) for key in ("eps", "users", "sessions", "errors", "p95")
        }
        self.last: dict[str, Any] | None = None
        self.task: asyncio.Task[None] | None = None

    def build(self) -> None:
        with hook(ui.column().classes("w-full gap-4"), "live-page"):
            with ui.row().classes("w-full items-center gap-4"):
                with ui.column().classes("gap-0"):
                    ui.label("Live analytics").classes("text-h5 text-weight-medium")
                    ui.label("Events as they arrive; updated every second").classes(
                        "text-body2 text-grey-7"
                    )
                ui.space()
                self.state = hook(ui.badge("connecting…", color="grey"), "live-state")
                self.window_toggle = hook(
                    ui.toggle(["1s", "5s", "60s"], value=self.window, on_change=self._window),
                    "live-window",
                ).props("no-caps")
                self.client_select = hook(
                    ui.select(
                        [ALL_CLIENTS], value=ALL_CLIENTS, label="Client", on_change=self._client
                    ).classes("w-48"),
                    "live-client",
                )
            with cards_grid():
                self.eps = StatCard("live-eps", "Events / s", "bolt", "blue")
                self.users = StatCard("live-users", "Active users", "group", "teal")
                self.errors = StatCard("live-errors", "Error rate", "error", "red")
                self.p95 = StatCard("live-p95", "p95 latency", "timer", "amber")
            with ui.element("div").classes("w-full grid gap-4 grid-cols-1 md:grid-cols-2"):
                with chart_card("Events per second", "Last minute, each second"):
                    self.eps_chart = hook(_line_chart(["events/s"]), "live-eps-chart")
                with chart_card("Active users and sessions", "Distinct in the chosen window"):
                    self.users_chart = _line_chart(["users", "sessions"])
                with chart_card("Error rate", "Status ≥ 500 or type error"):
                    self.error_chart = _line_chart(["error rate"], percent=True)
                with chart_card("Latency", "p95 of durationMs, all routes (ms)"):
                    self.latency_chart = _line_chart(["p95 ms"])
            with chart_card("Top routes", "Count and p95 duration in the chosen window"):
                self.routes = hook(
                    ui.table(
                        columns=[
                            {"name": "route", "label": "Route", "field": "route", "align": "left"},
                            {"name": "count", "label": "Events", "field": "count"},
                            {"name": "p95", "label": "p95 ms", "field": "p95"},
                        ],
                        rows=[],
                        row_key="route",
                    )
                    .classes("w-full")
                    .props("flat dense"),
                    "live-routes",
                )
        self.task = background_tasks.create(self._follow(), name="live analytics page")
        ui.context.client.on_disconnect(self._stop)

    def _stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _window(self, event: Any) -> None:
        self.window = event.value
        if self.last is not None:
            self._cards(self.last)

    def _client(self, event: Any) -> None:
        chosen = None if event.value == ALL_CLIENTS else event.value
        if chosen != self.client:
            self.client = chosen
            for values in self.series.values():
                values.clear()
            self.times.clear()
            self._stop()
            self.task = background_tasks.create(self._follow(), name="live analytics page")

    # -- the feed ---------------------------------------------------------------------------
    async def _follow(self) -> None:
        live = self.ctx.component(LiveFigures)
        while True:
            try:
                async with self.ctx.pubsub.subscribe(channel_for(self.client)) as subscription:
                    self._state("live", "positive")
                    await self._show(await self._poll(live))  # now, not in a second
                    async for message in subscription:
                        await self._show(message.data)
                    return  # the server is stopping
            except asyncio.CancelledError:
                raise
            except Exception:  # the push layer failed: poll until it is back
                self._state(f"polling every {POLL_SECONDS:g} s", "warning")
                for _ in range(5):
                    with contextlib.suppress(Exception):
                        await self._show(await self._poll(live))
                    await asyncio.sleep(POLL_SECONDS)

    async def _poll(self, live: LiveFigures) -> dict[str, Any]:
        figures = await asyncio.to_thread(live.snapshot, self.client)
        return tick_message(live.ingest.windows.closed_second(), self.client, figures)

    def _state(self, text: str, color: str) -> None:
        self.state.set_text(text)
        self.state.props(f"color={color}")

    async def _show(self, tick: dict[str, Any]) -> None:
        self.last = tick
        windows = tick["windows"]
        one, chosen = windows["1s"], windows[self.window]
        self.times.append(datetime.fromtimestamp(tick["second"], UTC).strftime("%H:%M:%S"))
        self.series["eps"].append(one["eventsPerSecond"])
        self.series["users"].append(chosen["activeUsers"])
        self.series["sessions"].append(chosen["activeSessions"])
        self.series["errors"].append(chosen["errorRate"])
        self.series["p95"].append(chosen.get("p95DurationMs"))
        times = list(self.times)
        for chart, keys in (
            (self.eps_chart, ["eps"]),
            (self.users_chart, ["users", "sessions"]),
            (self.error_chart, ["errors"]),
            (self.latency_chart, ["p95"]),
        ):
            chart.options["xAxis"]["data"] = times
            for series, key in zip(chart.options["series"], keys, strict=True):
                series["data"] = list(self.series[key])
            chart.update()
        self._cards(tick)
        clients = [ALL_CLIENTS, *windows["60s"]["byClient"]]
        if self.client and self.client not in clients:
            clients.append(self.client)
        if clients != self.client_select.options:
            self.client_select.set_options(clients, value=self.client or ALL_CLIENTS)

    def _cards(self, tick: dict[str, Any]) -> None:
        chosen = tick["windows"][self.window]
        self.eps.show(f"{chosen['eventsPerSecond']:,}", f"{chosen['events']:,} in {self.window}")
        self.users.show(f"{chosen['activeUsers']:,}", count(chosen["activeSessions"], "session"))
        self.errors.show(f"{chosen['errorRate'] * 100:.1f} %", count(chosen["errors"], "error"))
        p95 = chosen.get("p95DurationMs")
        self.p95.show("—" if p95 is None else f"{p95:,.0f} ms", "all routes")
        self.routes.rows = [
            {"route": r["route"], "count": r["count"], "p95": r["p95DurationMs"] or "—"}
            for r in chosen["topRoutes"]
        ]
        self.routes.update()


def register(ctx: AppContext) -> None:
    @signed_in_page("/analytics/live", ctx, title="Live analytics", section="analytics-live")
    async def live_page(signin: SignIn, viewer: Viewer) -> None:
        try:
            await signin.call(lambda _session, principal: ensure_role(principal.user, Role.admin))
        except Forbidden as refusal:
            admin_refused(refusal, "Live analytics is for administrators.")
            return
        except AppError as failure:
            report(failure)
            return
        LivePage(ctx).build()
