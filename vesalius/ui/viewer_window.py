"""Window/level for the viewer: presets, free center/width sliders, and the frame slider.

Every change ends in one call, ``on_change(window, frame)``, which points the picture at a new
preview link. Slider drags are debounced: the server renders a PNG per pause in the movement,
not one per pixel moved (it also rounds windows to 0.1 for its cache).
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from nicegui import ui
from nicegui.events import ValueChangeEventArguments

from vesalius.ui.images import ImageInfo
from vesalius.ui.widgets import hook

Window = tuple[float, float]  # (center, width) in modality units (Hounsfield for CT)
Changed = Callable[[Window | None, int], None]
DEBOUNCE_SECONDS = 0.3
DEFAULT = "default"
CUSTOM = "custom"


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    window: Window | None  # None: the file's own window, or the converter's automatic one
    hint: str


def mammography_window(info: ImageInfo) -> Window:
    """The whole stored range of the detector, linear: C 2^(b−1), W 2^b.

    Mammography detectors store 12 to 14 bits (12-bit → C 2048 / W 4096, 14-bit → C 8192 /
    W 16384). A full-range window clips nothing, so the skin line and the densest
    fibroglandular tissue are both visible — what mammography needs more than the extra
    contrast of a narrow window — and it is what vendors ship as their "normal" presentation
    window (e.g. C 2047 / W 4096 for 12-bit). The sliders narrow it from there.
    """
    bits = min(16, max(8, info.bit_depth or 12))
    return (float(2 ** (bits - 1)), float(2**bits))


def presets_for(info: ImageInfo) -> list[Preset]:
    mammo = mammography_window(info)
    return [
        Preset(DEFAULT, "Default", None, "The file's own window, or an automatic one"),
        Preset(
            "mammography",
            "Mammography",
            mammo,
            f"Full {min(16, max(8, info.bit_depth or 12))}-bit range, nothing clipped",
        ),
        Preset("soft-tissue", "CT soft tissue", (40.0, 400.0), "C 40 / W 400 HU"),
        Preset("lung", "Lung", (-600.0, 1500.0), "C −600 / W 1500 HU"),
        Preset("bone", "Bone", (400.0, 1800.0), "C 400 / W 1800 HU"),
        Preset("brain", "Brain", (40.0, 80.0), "C 40 / W 80 HU"),
    ]


def base_window(info: ImageInfo, automatic: Window | None) -> Window:
    """Where the sliders start: the file's window, else the one the converter chose."""
    if info.window_center is not None and info.window_width:
        return (info.window_center, info.window_width)
    if automatic is not None:
        return automatic
    return mammography_window(info)


class Debounced:
    """Run ``action`` once the calls have paused for ``delay`` seconds."""

    def __init__(self, delay: float, action: Callable[[], None]) -> None:
        self.delay = delay
        self.action = action
        self._pending: asyncio.TimerHandle | None = None

    def __call__(self) -> None:
        self.cancel()
        self._pending = asyncio.get_running_loop().call_later(self.delay, self.action)

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None


class WindowControls:
    def __init__(
        self, info: ImageInfo, automatic: Window | None, on_change: Changed, *, windowing: bool
    ) -> None:
        self.info = info
        self.on_change = on_change
        self.base = base_window(info, automatic)
        self.window: Window | None = None  # None: the default rendering
        self.frame = 0
        self.preset = DEFAULT
        self._syncing = False
        self._debounced = Debounced(DEBOUNCE_SECONDS, self._apply)
        self.buttons: dict[str, ui.button] = {}
        if windowing:
            self._window_controls()
        if info.frames > 1:
            self._frame_control()

    # -- layout -----------------------------------------------------------------------------
    def _window_controls(self) -> None:
        ui.label("Window / level").classes("text-subtitle2 text-grey-9")
        with ui.element("div").classes("w-full grid grid-cols-2 gap-2"):
            for preset in presets_for(self.info):
                button = ui.button(preset.label, on_click=lambda p=preset: self.choose(p))
                button.props("no-caps dense").classes("w-full")
                with button:
                    ui.tooltip(preset.hint)
                self.buttons[preset.key] = hook(button, f"preset-{preset.key}")
        center, width = self.base
        low, high, widest = self._ranges(center, width)
        with ui.column().classes("w-full gap-0"):
            self.center_label = ui.label().classes("text-caption text-grey-8")
            self.center = hook(
                ui.slider(min=low, max=high, step=1, value=center, on_change=self._window_moved),
                "window-center",
            )
            self.width_label = ui.label().classes("text-caption text-grey-8")
            self.width = hook(
                ui.slider(min=1, max=widest, step=1, value=width, on_change=self._window_moved),
                "window-width",
            )
        self.readout = hook(ui.label().classes("text-caption text-grey-7"), "window-readout")
        self._mark(DEFAULT)
        self._update_labels()

    def _frame_control(self) -> None:
        self.frame_label = hook(
            ui.label(f"Frame 1 of {self.info.frames}").classes("text-subtitle2 text-grey-9"),
            "frame-label",
        )
        self.frame_slider = hook(
            ui.slider(
                min=0, max=self.info.frames - 1, step=1, value=0, on_change=self._frame_moved
            ),
            "frame-slider",
        ).props("markers snap")

    def _ranges(self, center: float, width: float) -> tuple[float, float, float]:
        """Slider ends: CT in Hounsfield units, anything else around its stored range."""
        if (self.info.modality or "").upper() == "CT":
            low, high, widest = -1024.0, 3071.0, 4096.0
        else:
            full = float(2 ** min(16, max(8, self.info.bit_depth or 12)))
            low, high, widest = 0.0, full, full
        return (
            min(low, center - width),
            max(high, center + width),
            max(widest, 2 * width),
        )

    def _include(self, window: Window) -> None:
        """Stretch the sliders so that a preset outside them can still be shown and nudged."""
        low, high, widest = self._ranges(*window)
        self.center.props["min"] = min(low, float(self.center.props["min"]))
        self.center.props["max"] = max(high, float(self.center.props["max"]))
        self.width.props["max"] = max(widest, float(self.width.props["max"]))

    # -- changes ----------------------------------------------------------------------------
    def choose(self, preset: Preset) -> None:
        self.preset = preset.key
        self.window = preset.window
        shown = preset.window or self.base
        self._syncing = True
        try:
            self._include(shown)
            self.center.set_value(shown[0])
            self.width.set_value(shown[1])
        finally:
            self._syncing = False
        self._mark(preset.key)
        self._update_labels()
        self._debounced.cancel()
        self._apply()  # a click is one decision: no need to wait

    def _window_moved(self, _event: ValueChangeEventArguments[float | None]) -> None:
        if self._syncing:
            return
        self.window = (float(self.center.value or 0), max(1.0, float(self.width.value or 1)))
        self.preset = CUSTOM
        self._mark(CUSTOM)
        self._update_labels()
        self._debounced()

    def _frame_moved(self, _event: ValueChangeEventArguments[float | None]) -> None:
        self.frame = int(self.frame_slider.value or 0)
        self.frame_label.set_text(f"Frame {self.frame + 1} of {self.info.frames}")
        self._debounced()

    def _apply(self) -> None:
        self.on_change(self.window, self.frame)

    def _mark(self, active: str) -> None:
        for key, button in self.buttons.items():
            if key == active:
                button.props("unelevated color=primary", remove="outline")
            else:
                button.props("outline color=grey-8", remove="unelevated")
            button.props["data-active"] = "true" if key == active else "false"
            button.update()

    def _update_labels(self) -> None:
        center = float(self.center.value or 0)
        width = float(self.width.value or 1)
        self.center_label.set_text(f"Center (level): {center:g}")
        self.width_label.set_text(f"Width: {width:g}")
        if self.preset == DEFAULT:
            source = "file's window" if self.info.window_center is not None else "automatic"
            self.readout.set_text(f"Default ({source}): C {center:g} / W {width:g}")
        else:
            self.readout.set_text(f"C {center:g} / W {width:g}")
