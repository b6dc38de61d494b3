"""Recording activity without slowing requests: events go into an in-memory buffer (an
append, a few microseconds) and a background thread writes them in batches.

A graceful stop flushes everything. If the database is briefly unreachable the batch is kept
and written on a later attempt; only a buffer grown past ``max_buffered`` (a long outage) drops
its oldest events, and says so in the log.
"""

import logging
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from vesalius.accounts.models import User
from vesalius.analytics.models import ActivityType, ImageView, UserActivity
from vesalius.db import Database, is_constraint_violation, utcnow
from vesalius.imaging.models import Image

log = logging.getLogger(__name__)
RECENT_VIEWS_KEPT = 10_000


@dataclass(frozen=True)
class ActivityEvent:
    user_id: int | None
    activity_type: str
    resource_type: str | None
    resource_id: int | None
    details: dict[str, Any] | None
    ip_address: str | None
    user_agent: str | None
    created_at: datetime


@dataclass(frozen=True)
class ViewOpened:
    view_key: str
    image_id: int
    user_id: int | None
    viewed_at: datetime


@dataclass(frozen=True)
class ViewClosed:
    view_key: str
    duration_ms: int


Event = ActivityEvent | ViewOpened | ViewClosed


class ActivityRecorder:
    def __init__(
        self,
        db: Database,
        *,
        enabled: bool = True,
        flush_seconds: float = 1.0,
        batch_size: int = 1000,
        max_buffered: int = 200_000,
    ) -> None:
        self.db = db
        self.enabled = enabled
        self.flush_seconds = flush_seconds
        self.batch_size = batch_size
        self.max_buffered = max_buffered
        self._buffer: deque[Event] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self._views_lock = threading.Lock()
        self._recent_views: OrderedDict[tuple[int | None, int], tuple[str, float]] = OrderedDict()

    # -- what services call -----------------------------------------------------------------
    def record(
        self,
        user_id: int | None,
        activity: ActivityType,
        *,
        resource: tuple[str, int] | None = None,
        details: dict[str, Any] | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> None:
        if not self.enabled:
            return
        self._push(
            ActivityEvent(
                user_id=user_id,
                activity_type=activity.value,
                resource_type=resource[0] if resource else None,
                resource_id=resource[1] if resource else None,
                details=details,
                ip_address=ip,
                user_agent=(user_agent or "")[:400] or None,
                created_at=utcnow(),
            )
        )

    def view_opened(
        self, user_id: int | None, image_id: int, *, dedupe_seconds: float = 0
    ) -> tuple[str, bool]:
        """Record an image view. Returns its key (the duration is reported under it) and
        whether it is new: within ``dedupe_seconds`` of the same user's last view of the same
        image, the earlier view is returned instead of a new one."""
        now = time.monotonic()
        with self._views_lock:
            recent = self._recent_views.get((user_id, image_id))
            if dedupe_seconds and recent is not None and now - recent[1] < dedupe_seconds:
                return recent[0], False
            key = uuid.uuid4().hex
            self._recent_views[(user_id, image_id)] = (key, now)
            self._recent_views.move_to_end((user_id, image_id))
            while len(self._recent_views) > RECENT_VIEWS_KEPT:
                self._recent_views.popitem(last=False)
        if self.enabled:
            self._push(
                ViewOpened(view_key=key, image_id=image_id, user_id=user_id, viewed_at=utcnow())
            )
        return key, True

    def view_closed(self, view_key: str, duration_ms: int) -> None:
        if self.enabled:
            self._push(ViewClosed(view_key=view_key, duration_ms=max(0, duration_ms)))

    def _push(self, event: Event) -> None:
        self._buffer.append(event)
        if len(self._buffer) >= self.batch_size:
            self._wake.set()

    # -- writing ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name="vesalius-activity", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Write everything still buffered, then stop the writer."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # kept in the buffer; the next round tries again
                log.warning("writing activity failed; will retry", exc_info=True)
                time.sleep(min(5.0, self.flush_seconds))

    def pending(self) -> int:
        return len(self._buffer)

    def flush(self) -> int:
        """Write what is buffered now, in order. Returns the number of events written."""
        with self._flush_lock:
            batch: list[Event] = []
            while self._buffer:
                batch.append(self._buffer.popleft())
            if not batch:
                return 0
            try:
                self._write(batch)
            except Exception:
                self._buffer.extendleft(reversed(batch))
                self._trim()
                raise
            return len(batch)

    def _trim(self) -> None:
        while len(self._buffer) > self.max_buffered:
            self._buffer.popleft()
            self.dropped += 1
        if self.dropped:
            log.error(
                "activity buffer full during an outage: %s oldest events dropped", self.dropped
            )

    def _write(self, batch: list[Event]) -> None:
        try:
            self._write_together(batch)
        except DBAPIError as error:
            if not is_constraint_violation(error):
                raise
            # One event refers to something deleted meanwhile (a view of a deleted image, an
            # activity of a deleted user): write the rest one by one and drop only that one.
            for event in batch:
                try:
                    self._write_together([event])
                except DBAPIError as single:
                    if not is_constraint_violation(single):
                        raise
                    log.info("activity event dropped, its subject is gone: %s", event)

    def _write_together(self, batch: list[Event]) -> None:
        activities = [e.__dict__ for e in batch if isinstance(e, ActivityEvent)]
        views = [e.__dict__ for e in batch if isinstance(e, ViewOpened)]
        closes = [e for e in batch if isinstance(e, ViewClosed)]
        last_active: dict[int, datetime] = {}
        for row in activities:
            if row["user_id"] is not None and row["activity_type"] != ActivityType.login_failed:
                last_active[row["user_id"]] = row["created_at"]
        for row in views:
            if row["user_id"] is not None:
                last_active[row["user_id"]] = max(
                    row["viewed_at"], last_active.get(row["user_id"], row["viewed_at"])
                )
        with self.db.session() as session:
            if activities:
                session.execute(insert(UserActivity), activities)
            if views:
                session.execute(insert(ImageView), views)
                _count_views(session, Counter(row["image_id"] for row in views))
            if last_active:
                users = User.__table__
                assert isinstance(users, Table)
                session.execute(
                    update(users)
                    .where(users.c.id == bindparam("uid"))
                    .values(last_active_at=bindparam("at")),
                    [{"uid": user_id, "at": at} for user_id, at in last_active.items()],
                )
            for close in closes:  # few, and each must follow its view's insert
                session.execute(
                    update(ImageView)
                    .where(ImageView.view_key == close.view_key)
                    .values(duration_ms=close.duration_ms)
                )
            session.commit()


def _count_views(session: Session, per_image: Counter[int]) -> None:
    """Add a batch's views to each image's ``view_count`` (what "most viewed" reads)."""
    images = Image.__table__
    assert isinstance(images, Table)
    session.execute(
        update(images)
        .where(images.c.id == bindparam("image"))
        .values(view_count=images.c.view_count + bindparam("added")),
        [{"image": image_id, "added": added} for image_id, added in per_image.items()],
    )
