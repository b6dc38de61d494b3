"""The web UI: NiceGUI pages mounted in the same FastAPI app, calling the same services."""

from fastapi import FastAPI

from vesalius.context import AppContext


def mount_ui(app: FastAPI, ctx: AppContext) -> None:
    from vesalius.ui.shell import mount

    mount(app, ctx)
