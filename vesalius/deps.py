"""Typed FastAPI dependencies every router uses (``SessionDep``, ``ContextDep`` …).

Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in the
thread pool, and each such hop costs a measurable share of a fast request.
"""

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from vesalius.accounts.sessions import Client
from vesalius.context import AppContext


async def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_session(ctx: ContextDep) -> AsyncIterator[Session]:
    # Opening a session does no I/O (the connection comes at its first query, in the thread
    # that runs it); closing returns the connection, which may talk to the server: a thread.
    session = ctx.db.new_session()
    try:
        yield session
    finally:
        await anyio.to_thread.run_sync(session.close)


async def get_read_session(ctx: ContextDep) -> AsyncIterator[Session]:
    session = ctx.db.new_read_session()
    try:
        yield session
    finally:
        await anyio.to_thread.run_sync(session.close)


SessionDep = Annotated[Session, Depends(get_session)]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]


async def get_client(request: Request) -> Client:
    return Client(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


ClientDep = Annotated[Client, Depends(get_client)]
