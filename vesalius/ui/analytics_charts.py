"""The analytics charts (ECharts, bundled with NiceGUI).

Each chart is built once; a new range changes the data inside its existing options and pushes
them with ``update()``, so the browser redraws (and animates) the same chart instead of the
page being rebuilt.
"""

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from nicegui import ui

from vesalius.ui.images import FILE_TYPE_LABELS
from vesalius.ui.widgets import hook

# The theme's primary, secondary and accent, then two that read well beside them.
COLORS = ["#1d5b8f", "#2e7d6b", "#c77c02", "#7b4fa0", "#b23a48", "#5f7d95"]
# ECharts formatters run in the browser (NiceGUI turns ":key" values into functions).
BYTES_JS = """(value) => {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let amount = Number(value) || 0, unit = 0;
  while (Math.abs(amount) >= 1024 && unit < units.length - 1) { amount /= 1024; unit += 1; }
  return unit === 0 ? `${amount.toFixed(0)} bytes` : `${amount.toFixed(1)} ${units[unit]}`;
}"""
SHORT_DAY_JS = "(value) => String(value).slice(5)"  # 2026-03-14 → 03-14
FILE_TYPE_NAMES = {kind.value: label for kind, label in FILE_TYPE_LABELS.items()}


def chart_card(title: str, subtitle: str) -> ui.card:
    card = ui.card().classes("w-full min-w-0 gap-1 p-4").props("flat bordered")
    with card:
        ui.label(title).classes("text-subtitle1 text-weight-medium")
        ui.label(subtitle).classes("text-caption text-grey-7")
    return card


def _axis(bytes_axis: bool = False, **extra: Any) -> dict[str, Any]:
    axis: dict[str, Any] = {
        "type": "value",
        "minInterval": 1,
        "splitLine": {"lineStyle": {"color": "#eceff1"}},
        **extra,
    }
    if bytes_axis:
        axis.pop("minInterval")
        axis["axisLabel"] = {":formatter": BYTES_JS}
    return axis


def _line(name: str, color: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "line",
        "showSymbol": False,
        "symbolSize": 6,
        "lineStyle": {"width": 2.5},
        "itemStyle": {"color": color},
        "data": [],
        **extra,
    }


def day_chart(
    name: str, series: list[dict[str, Any]], *, y_axis: list[dict[str, Any]], legend: bool = True
) -> ui.echart:
    """A line chart over days: the x-axis gets the dates, each series its values."""
    options: dict[str, Any] = {
        "color": COLORS,
        "animationDuration": 300,
        "grid": {
            "left": 8,
            "right": 16,
            "top": 40 if legend else 16,
            "bottom": 8,
            "containLabel": True,
        },
        "tooltip": {"trigger": "axis"},
        "xAxis": {
            "type": "category",
            "boundaryGap": False,
            "data": [],
            "axisLabel": {":formatter": SHORT_DAY_JS, "hideOverlap": True},
            "axisLine": {"lineStyle": {"color": "#b0bec5"}},
        },
        "yAxis": y_axis,
        "series": series,
    }
    if legend:
        options["legend"] = {"top": 0, "icon": "roundRect", "itemWidth": 14, "itemHeight": 4}
    return hook(ui.echart(options).classes("w-full h-72"), name)


def set_days(chart: ui.echart, days: Sequence[date], *values: Sequence[int]) -> None:
    """Replace the days and each series' values, keeping everything else of the chart."""
    options = chart.options
    options["xAxis"]["data"] = [day.isoformat() for day in days]
    for series, data in zip(options["series"], values, strict=True):
        series["data"] = list(data)
        # A week or two reads better as points; a month or more as a plain line.
        series["showSymbol"] = len(days) <= 14
    for index, axis in enumerate(options["yAxis"]):
        if axis.get("axisLabel", {}).get(":formatter") == BYTES_JS:
            on_axis = [s["data"] for s in options["series"] if s.get("yAxisIndex", 0) == index]
            largest = max((max(d, default=0) for d in on_axis), default=0)
            step = bytes_step(largest)
            axis["interval"] = step
            axis["max"] = step * max(1, -(-largest // step))  # the next whole step
    chart.update()


def bytes_step(largest: int) -> int:
    """A tick step in whole binary units (10 KB, 256 KB, 2 MB …) giving about four ticks, so a
    bytes axis reads 10 KB, 20 KB, 30 KB rather than 9.8 KB, 19.5 KB, 29.3 KB."""
    if largest <= 0:
        return 1024  # nothing yet: 0 bytes to 1 KB
    unit = 1
    while largest / unit >= 1024 and unit < 1024**4:
        unit *= 1024
    wanted = largest / unit / 4
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500):
        if step >= wanted:
            return step * unit
    return 1024 * unit


def upload_chart() -> ui.echart:
    bytes_tip = {":valueFormatter": BYTES_JS}
    return day_chart(
        "chart-uploads",
        [
            _line("Uploads", COLORS[0], areaStyle={"opacity": 0.12}),
            _line(
                "Uploaded bytes",
                COLORS[2],
                yAxisIndex=1,
                lineStyle={"width": 2, "type": "dashed"},
                tooltip=bytes_tip,
            ),
        ],
        y_axis=[_axis(name="uploads"), _axis(bytes_axis=True, splitLine={"show": False})],
    )


def activity_chart() -> ui.echart:
    """Views, uploads and downloads per day, one line each (as the seed's dashboard)."""
    lines = [
        _line("Views", COLORS[0]),
        _line("Uploads", COLORS[1]),
        _line("Downloads", COLORS[2]),
    ]
    return day_chart("chart-activity", lines, y_axis=[_axis()])


def stacked_activity_chart(name: str, kinds: Sequence[str]) -> ui.echart:
    """One user's few actions per day: stacked bars show each kind and the day's total,
    where lines of small counts would lie on top of each other."""
    bars = [
        {
            "name": kind,
            "type": "bar",
            "stack": "day",
            "barMaxWidth": 22,
            "itemStyle": {"color": COLORS[index % len(COLORS)]},
            "data": [],
        }
        for index, kind in enumerate(kinds)
    ]
    chart = day_chart(name, bars, y_axis=[_axis()])
    chart.options["xAxis"]["boundaryGap"] = True
    chart.options["tooltip"]["axisPointer"] = {"type": "shadow"}
    return chart


def storage_chart() -> ui.echart:
    return day_chart(
        "chart-storage",
        [
            _line(
                "Storage used",
                COLORS[3],
                smooth=False,
                step="end",
                areaStyle={"opacity": 0.15},
                tooltip={":valueFormatter": BYTES_JS},
            )
        ],
        y_axis=[_axis(bytes_axis=True)],
        legend=False,
    )


def file_type_chart() -> ui.echart:
    options: dict[str, Any] = {
        "color": COLORS,
        "animationDuration": 300,
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} images ({d}%)"},
        "legend": {"bottom": 0, "icon": "circle", "itemWidth": 10, "itemGap": 16},
        "series": [
            {
                "name": "File types",
                "type": "pie",
                "radius": ["48%", "72%"],
                "center": ["50%", "45%"],
                "itemStyle": {"borderColor": "#fff", "borderWidth": 2, "borderRadius": 4},
                # The legend carries the counts: labels around the ring get cut on a phone.
                "label": {"show": False},
                "data": [],
            }
        ],
    }
    return hook(ui.echart(options).classes("w-full h-72"), "chart-file-types")


def set_file_types(chart: ui.echart, file_types: dict[str, dict[str, int]]) -> None:
    total = sum(values["count"] for values in file_types.values())
    # The total in the doughnut's hole, centred on the pie (at 45 % of the height).
    chart.options["title"] = {
        "text": f"{total:,}",
        "subtext": "images" if total != 1 else "image",
        "left": "center",
        "top": "45%",
        "itemGap": 4,
        "textAlign": "center",
        "textVerticalAlign": "middle",
        "textStyle": {"fontSize": 22, "fontWeight": 500, "color": "#263238", "lineHeight": 26},
        "subtextStyle": {"fontSize": 12, "color": "#78909c", "lineHeight": 14},
    }
    data = [
        {"name": FILE_TYPE_NAMES.get(kind, kind.upper()), "value": values["count"]}
        for kind, values in sorted(file_types.items(), key=lambda item: -item[1]["count"])
        if values["count"]
    ]
    chart.options["series"][0]["data"] = data
    counts = json.dumps({item["name"]: f"{item['value']:,}" for item in data})
    legend = chart.options["legend"]
    legend["data"] = [item["name"] for item in data]  # none when empty, not the series' name
    legend[":formatter"] = f"(name) => `${{name}}  ${{({counts})[name] ?? ''}}`"
    chart.update()
