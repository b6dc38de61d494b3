"""The viewer's picture: wheel to zoom around the pointer, drag to pan, double-click to reset.

Zoom and pan are CSS transforms in the browser (``pan_zoom.js``); only a new window, frame or
image changes ``src`` and fetches a new PNG.
"""

from nicegui import ui
from nicegui.element import Element

CSS = """
.vz-stage { position: relative; overflow: hidden; background: #000; display: flex;
  align-items: center; justify-content: center; cursor: grab; touch-action: none;
  user-select: none; }
.vz-stage.vz-grabbing { cursor: grabbing; }
.vz-picture { width: 100%; height: 100%; object-fit: contain; transform-origin: center center;
  will-change: transform; pointer-events: none; }
.vz-busy { position: absolute; top: 12px; left: 12px; }
.vz-failed { position: absolute; color: #ffb4a9; font-size: 14px; }
.vz-zoom { position: absolute; right: 12px; bottom: 10px; padding: 2px 8px; border-radius: 4px;
  color: rgba(255, 255, 255, .8); background: rgba(0, 0, 0, .5); font-size: 12px; }
"""


class PanZoomImage(Element, component="pan_zoom.js"):
    def __init__(self, src: str = "", *, alt: str = "") -> None:
        super().__init__()
        ui.add_css(CSS)
        self._props["src"] = src
        self._props["alt"] = alt

    def set_source(self, src: str) -> None:
        if self._props.get("src") != src:
            self._props["src"] = src
            self.update()

    def reset(self) -> None:
        self.run_method("reset")
