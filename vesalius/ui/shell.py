"""Placeholder: mounts NiceGUI (pages come next)."""

from fastapi import FastAPI
from nicegui import ui

from vesalius.context import AppContext


def mount(app: FastAPI, ctx: AppContext) -> None:
    @ui.page("/")
    def index() -> None:
        ui.label("Vesalius")

    ui.run_with(app, title="Vesalius", storage_secret=ctx.keys.derive("ui-storage").hex(), show_welcome_message=False)
