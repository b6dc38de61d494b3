"""A year of analytics history, as a busy hub would have it, written fast.

Users (``bench.users_seed``'s names and roles) joined over four years; images were uploaded
over three, more each year (growth), fewer at weekends and at night; about 2% are deleted
again, most within weeks. The raw activity covers the 365 days before today plus today, in
``created_at`` order: views most of all, then sign-ins, downloads, uploads (one per image,
same instant and owner), sign-outs, failed sign-ins, deletions (one per deleted image). A
few heavy users do much of the work (log-normal weights). Every view opened an
``image_views`` row (gone with its image, as ``ON DELETE CASCADE`` does). Today holds a busy
weekday's worth of activity between midnight and now: the dashboard counts today live from
raw rows, so this is its worst case, late in a busy day.

``system_stats`` holds one row per day for the 365 days before today, computed from the
generator's own counts, as ``compute_day`` would have written it just after that day ended
(so later deletions do not change it). The bench checks one such day against
``compute_day`` run now.

Nothing is held for the whole table: activity is generated day by day and written in chunks
(``bench.bulk.loader``: executemany on SQLite, COPY on PostgreSQL). The timezone is UTC.
"""

import bisect
import contextlib
import hashlib
import itertools
import json
import math
import multiprocessing
import operator
import random
import sqlite3
import time as clock
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from bench.bulk import copy_csv, indexes_rebuilt, loader, refresh_statistics
from bench.images_seed import COLUMNS as IMAGE_FIELDS
from bench.users_seed import ADMIN_EMAIL, SeedPlan, bulk_insert, user_rows
from vesalius.accounts.models import User, UserStatus
from vesalius.analytics.aggregation import recount_image_views

SEED = 20_261_125
HISTORY_DAYS = 365
IMAGE_DAYS = 3 * 365
USER_DAYS = 4 * 365
US = 1_000_000
DAY_US = 86_400 * US
HOUR_US = 3_600 * US
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK_ROWS = 200_000
BIG_TABLES = ("images", "user_activity", "image_views")

DELETED_SHARE = 0.02  # of images, deleted again ~20 days after upload on average
DELETE_MEAN_DAYS = 20
WEEKEND = 0.35  # a Saturday or Sunday, relative to a weekday
# A hospital day: quiet nights, a morning peak, a smaller one after lunch (UTC = local).
HOURS = (1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 10, 11, 13, 12, 10, 7, 5, 4, 3, 2, 2, 1)
HOURS_CUM = list(itertools.accumulate(HOURS))

# Shares of the activity that is not an upload or a deletion (those follow the images).
KINDS = ("view", "login", "download", "logout", "login_failed")
KIND_WEIGHTS = (57, 19, 14, 4.0, 2.5)
KINDS_CUM = list(itertools.accumulate(KIND_WEIGHTS))
UNKNOWN_EMAIL_SHARE = 0.4  # failed sign-ins with an email nobody has
VIEW_DURATION_SHARE = 0.7  # views whose viewer reported how long they stayed open

# (file type, weight, content type, mean size in bytes)
FILE_TYPES = (
    ("dcm", 78, "application/dicom", 28_000_000),
    ("png", 9, "image/png", 2_500_000),
    ("jpg", 9, "image/jpeg", 600_000),
    ("tif", 3, "image/tiff", 9_000_000),
    ("bmp", 1, "image/bmp", 6_000_000),
)
TYPES_CUM = list(itertools.accumulate(t[1] for t in FILE_TYPES))
MODALITIES = (("MG", 60, "BREAST"), ("CR", 15, "CHEST"), ("CT", 12, "CHEST"), ("MR", 8, "HEAD"))
MODALITIES_CUM = list(itertools.accumulate(m[1] for m in MODALITIES))
MANUFACTURERS = ("HOLOGIC, Inc.", "GE MEDICAL SYSTEMS", "SIEMENS", "FUJIFILM Corporation")
AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "python-httpx/0.28.1",
    "vesalius-cli/0.1",
)
AGENT_WEIGHTS = (50, 20, 12, 8, 6, 4)

ACTIVITY_COLUMNS = (
    "user_id",
    "activity_type",
    "resource_type",
    "resource_id",
    "metadata",
    "ip_address",
    "user_agent",
    "created_at",
)
VIEW_COLUMNS = ("view_key", "image_id", "user_id", "viewed_at", "duration_ms")
IMAGE_COLUMNS = ("id", *IMAGE_FIELDS)  # ids given: views and activity refer to them
STATS_COLUMNS = (
    "stat_date",
    "total_users",
    "active_users",
    "new_users",
    "total_images",
    "new_images",
    "uploads",
    "upload_bytes",
    "views",
    "downloads",
    "logins",
    "storage_used_bytes",
    "file_types",
    "computed_at",
)


@dataclass(frozen=True)
class SeedSizes:
    users: int
    images: int  # in the table at the end (deleted ones come on top)
    activity: int  # user_activity rows, today's included


_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
_DAY_PREFIX: dict[int, str] = {}


def stamp(moment_us: int) -> str:
    """Microseconds since 1970 (UTC) as Vesalius stores a UTCDateTime: naive UTC text,
    ``YYYY-MM-DD HH:MM:SS.ffffff`` (a third of the time ``datetime.isoformat`` takes)."""
    day, rest = divmod(moment_us, DAY_US)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = _DAY_PREFIX[day] = (EPOCH.date() + timedelta(days=day)).isoformat() + " "
    second, micro = divmod(rest, US)
    return f"{prefix}{_HMS[second]}.{micro:06d}"


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


@dataclass
class DayCounts:
    """What ``compute_day`` would have counted for one day, just after it ended."""

    uploads: int = 0
    upload_bytes: int = 0
    views: int = 0
    downloads: int = 0
    logins: int = 0
    active: set[int] = field(default_factory=set)
    kinds: Counter[str] = field(default_factory=Counter)
    rows: int = 0
    view_rows: int = 0  # image_views rows still there now (views of deleted images are gone)


@dataclass
class Seeded:
    """What was written, for the bench's checks and its report."""

    today: date
    now: datetime
    users: int
    images: int  # in the table
    deleted_images: int  # uploaded and deleted again (not in the table)
    activity: int
    image_views: int
    stats: dict[date, tuple[Any, ...]]  # stat_date → STATS_COLUMNS values
    today_counts: DayCounts
    today_new_images: int
    today_new_types: dict[str, dict[str, int]]
    today_new_users: int
    last_active: dict[int, int]  # user id → µs of their last activity
    last_login: dict[int, int]  # user id → µs of their last sign-in
    busy_user: int  # the user with the most activity in the last 30 days
    busy_user_kinds: Counter[str]  # their activity in the last 30 days, today included
    kinds: Counter[str]  # every activity row by type
    view_rows: dict[date, int] = field(default_factory=dict)  # image_views rows there now
    seconds: dict[str, float] = field(default_factory=dict)


class World:
    """The plan: users, images (in memory, as arrays) and per-day activity counts."""

    def __init__(self, sizes: SeedSizes, now: datetime, user_table: list[tuple[int, int, bool]]):
        self.sizes = sizes
        self.now = now
        self.now_us = to_us(now)
        self.today = now.date()
        self.today_us = to_us(datetime.combine(self.today, time.min, tzinfo=UTC))
        self.first_day = self.today - timedelta(days=HISTORY_DAYS)
        self.first_us = self.today_us - HISTORY_DAYS * DAY_US
        self.rng = random.Random(SEED)
        rng = self.rng
        # Users: (id, created µs, active). Heavy users do much of the work.
        self.users = sorted(user_table, key=lambda u: u[1])
        self.user_created = [u[1] for u in self.users]
        self.actors = [u for u in self.users if u[2]]
        self.actor_created = [u[1] for u in self.actors]
        weights = [rng.lognormvariate(0, 1.0) for _ in self.actors]
        self.actor_ids = [u[0] for u in self.actors]
        self.actor_cum = list(itertools.accumulate(weights))
        heaviest = max(range(len(weights)), key=weights.__getitem__)
        self.busy_user = self.actor_ids[heaviest]
        self.user_ip = {
            u[0]: f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            for u in self.users
        }
        self.user_agent = {u[0]: rng.choices(AGENTS, AGENT_WEIGHTS)[0] for u in self.users}
        self._plan_images()
        self._plan_activity()

    # -- images -------------------------------------------------------------------------------
    def _day_weights(self, days: int, growth: float) -> list[float]:
        """Oldest first, ending with today (a weekday's worth: the busy case)."""
        rng = self.rng
        weights = []
        for index in range(days + 1):
            day = self.today - timedelta(days=days - index)
            rise = 1 + growth * index / days
            weekend = WEEKEND if day.weekday() >= 5 and index < days else 1.0
            weights.append(rise * weekend * rng.lognormvariate(0, 0.12))
        return weights

    def _offsets(self, count: int, day_us: int) -> list[int]:
        """``count`` sorted instants (µs) in the day starting at ``day_us``; today's are
        squeezed between midnight and a minute ago."""
        rng = self.rng
        hours = rng.choices(range(24), cum_weights=HOURS_CUM, k=count)
        scale = 1.0
        if day_us == self.today_us:
            scale = max(1.0, self.now_us - day_us - 60 * US) / DAY_US
        return sorted(day_us + int((h + rng.random()) * HOUR_US * scale) for h in hours)

    def _eligible(self, created: list[int], moment_us: int) -> int:
        return max(1, bisect.bisect_left(created, moment_us))

    def _plan_images(self) -> None:
        """Creation instants (ids follow them), owners, types, sizes, deletion instants."""
        rng = self.rng
        total = round(self.sizes.images / (1 - DELETED_SHARE))
        weights = self._day_weights(IMAGE_DAYS, growth=2.0)
        counts = _apportion(total, weights)
        self.created = array("q")
        self.owner = array("l")
        self.kind = array("b")
        self.size = array("q")
        self.deleted = array("q")
        first = self.today_us - IMAGE_DAYS * DAY_US
        for index, count in enumerate(counts):
            day_us = first + index * DAY_US
            stamps = self._offsets(count, day_us)
            k = self._eligible(self.actor_created, day_us)
            owners = rng.choices(self.actor_ids[:k], cum_weights=self.actor_cum[:k], k=count)
            kinds = rng.choices(range(len(FILE_TYPES)), cum_weights=TYPES_CUM, k=count)
            for moment, owner, kind in zip(stamps, owners, kinds, strict=True):
                self.created.append(moment)
                self.owner.append(owner)
                self.kind.append(kind)
                self.size.append(int(FILE_TYPES[kind][3] * rng.lognormvariate(-0.08, 0.4)))
                gone = 0
                if rng.random() < DELETED_SHARE:
                    gone = moment + int(rng.expovariate(1 / DELETE_MEAN_DAYS) * DAY_US) + US
                    if gone >= self.now_us - 60 * US:
                        gone = 0
                self.deleted.append(gone)
        # ids are 1-based: index i is image i + 1.
        self.first_window_image = bisect.bisect_left(self.created, self.first_us)
        self.alive = sum(1 for gone in self.deleted if not gone)

    def image_rows(self) -> Iterator[tuple[Any, ...]]:
        """Rows in ``IMAGE_COLUMNS`` order for the images still there, oldest first."""
        rng = random.Random(SEED + 1)
        for index, created in enumerate(self.created):
            if self.deleted[index]:
                continue
            image_id = index + 1
            kind, content_type = FILE_TYPES[self.kind[index]][0], FILE_TYPES[self.kind[index]][2]
            digest = hashlib.sha256(image_id.to_bytes(8, "big")).hexdigest()
            at = stamp(created)
            processed: str | None = stamp(created + 4 * US)
            status, failure = "ready", None
            if created > self.now_us - 120 * US:
                status, processed = "processing", None
            elif rng.random() < 0.005:
                status, failure = "failed", "not a usable DICOM file: truncated pixel data"
            key = f"originals/{at[:4]}/{at[5:7]}/{at[8:10]}/{digest[:32]}"
            updated = processed or at
            if kind == "dcm":
                modality, _w, body = MODALITIES[
                    bisect.bisect_right(MODALITIES_CUM, rng.random() * MODALITIES_CUM[-1])
                ]
                mammo = modality == "MG"
                study = image_id // 4
                yield (
                    image_id,
                    self.owner[index],
                    f"{modality}_{digest[32:40].upper()}.dcm",
                    kind,
                    content_type,
                    self.size[index],
                    digest,
                    key,
                    4096 if mammo else 512,
                    3328 if mammo else 512,
                    14 if mammo else 12,
                    1,
                    status,
                    failure,
                    at,
                    updated,
                    processed,
                    f"P{study // 3:07d}",
                    f"PATIENT^{digest[40:46].upper()}",
                    f"1.2.826.0.1.3680043.10.511.{study}",
                    f"1.2.826.0.1.3680043.10.511.{study}.{image_id % 2}",
                    f"1.2.826.0.1.3680043.10.511.{study}.{image_id % 2}.{image_id}",
                    "1.2.840.10008.5.1.4.1.1.1.2" if mammo else "1.2.840.10008.5.1.4.1.1.2",
                    modality,
                    at[:10],
                    body,
                    ("CC", "MLO")[image_id % 2] if mammo else None,
                    ("L", "R")[(image_id // 2) % 2] if mammo else None,
                    MANUFACTURERS[image_id % len(MANUFACTURERS)],
                    "MONOCHROME2",
                    "1.2.840.10008.1.2.4.90" if mammo else "1.2.840.10008.1.2.1",
                    2048.0,
                    4096.0,
                )
            else:
                yield (
                    image_id,
                    self.owner[index],
                    f"photo_{digest[32:40]}.{kind}",
                    kind,
                    content_type,
                    self.size[index],
                    digest,
                    key,
                    1920,
                    1080,
                    8,
                    1,
                    status,
                    failure,
                    at,
                    updated,
                    processed,
                    *([None] * 16),
                )

    # -- activity -----------------------------------------------------------------------------
    def _plan_activity(self) -> None:
        """Rows per day (index 0 is the first history day, ``HISTORY_DAYS`` is today)."""
        window = range(self.first_window_image, len(self.created))
        self.uploads_per_day = Counter((self.created[i] - self.first_us) // DAY_US for i in window)
        self.deletes: dict[int, list[tuple[int, int]]] = {}
        for index, gone in enumerate(self.deleted):
            if gone and gone >= self.first_us:
                day = (gone - self.first_us) // DAY_US
                self.deletes.setdefault(day, []).append((gone, index + 1))
        driven = sum(self.uploads_per_day.values()) + sum(len(d) for d in self.deletes.values())
        others = self.sizes.activity - driven
        if others <= 0:
            raise ValueError("more uploads and deletions than activity: grow the activity")
        self.others_per_day = _apportion(others, self._day_weights(HISTORY_DAYS, growth=0.5))

    def activity_days(
        self, seeded: "Seeded"
    ) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        """Per day, oldest first: its ``user_activity`` rows and its ``image_views`` rows, in
        ``created_at`` order. Fills ``seeded``'s counts on the way.

        Written for speed (ten million rows): one pass per event, no datetime objects.
        """
        rng = self.rng
        rnd, bits = rng.random, rng.getrandbits
        deleted, sizes = self.deleted, self.size
        ip_of = {u: self.user_ip[u] for u in self.user_ip}
        agent_of = {u: self.user_agent[u] for u in self.user_agent}
        durations = [
            int(rng.lognormvariate(10, 1.2)) if rng.random() < VIEW_DURATION_SHARE else None
            for _ in range(4096)
        ]
        recent_from = self.today_us - 29 * DAY_US
        recent_at = stamp(recent_from)
        last_active, last_login = seeded.last_active, seeded.last_login
        for day_index in range(HISTORY_DAYS + 1):
            day_us = self.first_us + day_index * DAY_US
            count = self.others_per_day[day_index]
            stamps = self._offsets(count, day_us)
            kinds = rng.choices(KINDS, cum_weights=KINDS_CUM, k=count)
            k = self._eligible(self.actor_created, day_us)
            actors = rng.choices(self.actor_ids[:k], cum_weights=self.actor_cum[:k], k=count)
            high = max(1, bisect.bisect_left(self.created, day_us))
            rows: list[tuple[Any, ...]] = []
            views: list[tuple[Any, ...]] = []
            add, add_view = rows.append, views.append
            for moment, kind, user in zip(stamps, kinds, actors, strict=True):
                at = stamp(moment)
                if kind == "view" or kind == "download":
                    # Recent images far more often: a new study is read and compared.
                    while True:
                        image_id = high - int(high * rnd() ** 3)
                        gone = deleted[image_id - 1]
                        if not gone or gone > moment:
                            break
                    if kind == "view":
                        key = bits(128)
                        view_key = f"{key:032x}"
                        meta = f'{{"viewId": "{view_key}"}}'
                        if not gone:  # a deleted image's views went with it
                            add_view((view_key, image_id, user, at, durations[key & 4095]))
                    else:
                        meta = f'{{"sizeBytes": {sizes[image_id - 1]}}}'
                    add((user, kind, "image", image_id, meta, ip_of[user], agent_of[user], at))
                elif kind == "login_failed":
                    if rnd() < UNKNOWN_EMAIL_SHARE:
                        meta = f'{{"email": "nobody{user}@example.com", "reason": "unknown_email"}}'
                        ip = f"203.0.113.{moment % 250 + 1}"
                        add((None, kind, None, None, meta, ip, AGENTS[0], at))
                    else:
                        meta = (
                            f'{{"email": "user{user}@bench.example", "reason": "wrong_password"}}'
                        )
                        add((user, kind, None, None, meta, ip_of[user], agent_of[user], at))
                else:  # login, logout
                    meta = f'{{"sessionId": "{bits(128):032x}"}}'
                    add((user, kind, None, None, meta, ip_of[user], agent_of[user], at))
            counts = DayCounts(kinds=Counter(kinds))
            acted = [
                (u, m, k)
                for u, m, k in zip(actors, stamps, kinds, strict=True)
                if k != "login_failed"
            ]
            last_active.update((u, m) for u, m, _k in acted)
            last_login.update((u, m) for u, m, k in acted if k == "login")
            counts.active.update(u for u, _m, _k in acted)
            driven: list[tuple[int, int, str, int]] = []  # (µs, owner, kind, image id)
            for index in range(
                bisect.bisect_left(self.created, day_us),
                bisect.bisect_left(self.created, day_us + DAY_US),
            ):
                driven.append((self.created[index], self.owner[index], "upload", index + 1))
            driven += [
                (moment, self.owner[image_id - 1], "delete", image_id)
                for moment, image_id in self.deletes.get(day_index, [])
            ]
            for moment, owner, kind, image_id in driven:
                name = f"upload_{image_id}.{FILE_TYPES[self.kind[image_id - 1]][0]}"
                if kind == "upload":
                    size = sizes[image_id - 1]
                    file_type = FILE_TYPES[self.kind[image_id - 1]][0]
                    meta = f'{{"fileType": "{file_type}", "sizeBytes": {size}, "name": "{name}"}}'
                    counts.upload_bytes += size
                else:
                    meta = f'{{"name": "{name}"}}'
                at = stamp(moment)
                add((owner, kind, "image", image_id, meta, ip_of[owner], agent_of[owner], at))
                counts.kinds[kind] += 1
                counts.active.add(owner)
                last_active[owner] = max(moment, last_active.get(owner, 0))
            rows.sort(key=_created_at)
            if day_us + DAY_US > recent_from:  # what the busy user's own page will show
                seeded.busy_user_kinds.update(
                    row[1] for row in rows if row[0] == self.busy_user and row[7] >= recent_at
                )
            counts.uploads = counts.kinds["upload"]
            counts.views = counts.kinds["view"]
            counts.downloads = counts.kinds["download"]
            counts.logins = counts.kinds["login"]
            counts.rows = len(rows)
            counts.view_rows = len(views)
            self._day_done(seeded, day_index, counts)
            yield rows, views

    # -- daily statistics -----------------------------------------------------------------------
    def _day_done(self, seeded: "Seeded", day_index: int, counts: DayCounts) -> None:
        seeded.activity += counts.rows
        seeded.image_views += counts.view_rows
        seeded.kinds.update(counts.kinds)
        seeded.view_rows[self.first_day + timedelta(days=day_index)] = counts.view_rows
        day = self.first_day + timedelta(days=day_index)
        if day == self.today:
            seeded.today_counts = counts
            return
        end_us = self.first_us + (day_index + 1) * DAY_US
        start_us = end_us - DAY_US
        total_users = bisect.bisect_left(self.user_created, end_us)
        new_users = total_users - bisect.bisect_left(self.user_created, start_us)
        types, new_images = self._types_at(end_us, start_us)
        seeded.stats[day] = (
            day.isoformat(),
            total_users,
            len(counts.active),
            new_users,
            sum(t["count"] for t in types.values()),
            new_images,
            counts.uploads,
            counts.upload_bytes,
            counts.views,
            counts.downloads,
            counts.logins,
            sum(t["bytes"] for t in types.values()),
            json.dumps(types),
            stamp(end_us + 5 * 60 * US),
        )

    def _types_at(self, end_us: int, start_us: int) -> tuple[dict[str, dict[str, int]], int]:
        """Images there at ``end_us`` by type, and how many of them came after ``start_us``;
        kept as running totals, one day after the other."""
        if not hasattr(self, "_running"):
            self._running: dict[int, list[int]] = {k: [0, 0] for k in range(len(FILE_TYPES))}
            self._cursor = 0  # next image (by creation) not counted yet
            self._pending_deletes: list[tuple[int, int]] = []  # (deleted µs, index)
        new = 0
        while self._cursor < len(self.created) and self.created[self._cursor] < end_us:
            index = self._cursor
            self._running[self.kind[index]][0] += 1
            self._running[self.kind[index]][1] += self.size[index]
            gone = self.deleted[index]
            if gone:
                self._pending_deletes.append((gone, index))
            self._cursor += 1
            if self.created[index] >= start_us and not (gone and gone < end_us):
                new += 1
        still = []
        for gone, index in self._pending_deletes:
            if gone < end_us:
                self._running[self.kind[index]][0] -= 1
                self._running[self.kind[index]][1] -= self.size[index]
            else:
                still.append((gone, index))
        self._pending_deletes = still
        types = {
            FILE_TYPES[k][0]: {"count": n, "bytes": b}
            for k, (n, b) in sorted(self._running.items())
            if n
        }
        return types, new

    def today_images(self) -> tuple[int, dict[str, dict[str, int]]]:
        """Images uploaded today and still there, by type (what the dashboard adds live)."""
        types: dict[str, dict[str, int]] = {}
        count = 0
        for index in range(bisect.bisect_left(self.created, self.today_us), len(self.created)):
            if self.deleted[index]:
                continue
            entry = types.setdefault(FILE_TYPES[self.kind[index]][0], {"count": 0, "bytes": 0})
            entry["count"] += 1
            entry["bytes"] += self.size[index]
            count += 1
        return count, types


_created_at = operator.itemgetter(7)


def _apportion(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights``, largest remainders first: sums exactly."""
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    counts = [math.floor(s) for s in shares]
    short = total - sum(counts)
    by_remainder = sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[:short]:
        counts[i] += 1
    return counts


# -- writing ------------------------------------------------------------------------------------
def seed(
    urls: dict[str, str],
    sizes: SeedSizes,
    password_hash: str,
    progress: Callable[[str], None] = lambda _message: None,
) -> Seeded:
    """The same data in each database of ``urls`` (migrated, empty), written by one process
    per database at once: the two cores both work (a thread would wait for the GIL once per
    row of sqlite3's executemany). Each process runs the same seeded generator for the same
    ``now``, so the databases hold identical rows; the function checks that they agree.
    """
    now = datetime.now(UTC).replace(microsecond=0)
    progress(f"seeding {' and '.join(urls)} at once, one process each")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(urls), mp_context=context) as pool:
        futures = [
            pool.submit(seed_one, name, url, sizes, password_hash, now)
            for name, url in urls.items()
        ]
        results = [future.result() for future in futures]
    first = results[0]
    for other in results[1:]:
        if (other.activity, other.image_views, other.stats) != (
            first.activity,
            first.image_views,
            first.stats,
        ):
            raise RuntimeError("the databases were seeded with different data")
        first.seconds.update(other.seconds)
    return first


def seed_one(name: str, url: str, sizes: SeedSizes, password_hash: str, now: datetime) -> Seeded:
    """Everything into one migrated, empty database; ``Seeded.seconds`` says how long.

    The plain indexes are dropped first and built again at the end, one sort each, as
    ``pg_restore`` does: inserting ten million rows into them one by one took SQLite six
    minutes even with a 1 GiB page cache, and PostgreSQL's 128 MB of shared buffers churn.
    Primary keys and unique constraints stay, so ids and view keys are checked as loaded.
    """
    started = clock.perf_counter()
    engine = create_engine(url, poolclass=NullPool)
    try:
        users = _seed_users(engine, sizes.users, password_hash, now)
        world = World(sizes, now, users)
        seeded = Seeded(
            today=world.today,
            now=now,
            users=len(users),
            images=world.alive,
            deleted_images=len(world.created) - world.alive,
            activity=0,
            image_views=0,
            stats={},
            today_counts=DayCounts(),
            today_new_images=0,
            today_new_types={},
            today_new_users=len(users) - bisect.bisect_left(world.user_created, world.today_us),
            last_active={},
            last_login={},
            busy_user=world.busy_user,
            busy_user_kinds=Counter(),
            kinds=Counter(),
        )
        with contextlib.ExitStack() as stack:
            stack.enter_context(indexes_rebuilt(engine, *BIG_TABLES))
            load = stack.enter_context(loader(engine))
            image_rows = world.image_rows()
            while chunk := list(itertools.islice(image_rows, CHUNK_ROWS)):
                load.write("images", IMAGE_COLUMNS, chunk)
            activity: list[tuple[Any, ...]] = []
            views: list[tuple[Any, ...]] = []
            for rows, day_views in world.activity_days(seeded):
                activity += rows
                views += day_views
                if len(activity) >= CHUNK_ROWS:
                    load.write("user_activity", ACTIVITY_COLUMNS, activity)
                    load.write("image_views", VIEW_COLUMNS, views)
                    activity, views = [], []
            load.write("user_activity", ACTIVITY_COLUMNS, activity)
            load.write("image_views", VIEW_COLUMNS, views)
            load.write("system_stats", STATS_COLUMNS, list(seeded.stats.values()))
            rows_done = clock.perf_counter()
        _finish_users(engine, seeded.last_active, seeded.last_login)
        with Session(engine) as session:  # the views went in around the recorder
            recount_image_views(session)
            session.commit()
        seeded.today_new_images, seeded.today_new_types = world.today_images()
        indexed = clock.perf_counter()
        refresh_statistics(engine, "users", *BIG_TABLES, "system_stats")
        done = clock.perf_counter()
    finally:
        engine.dispose()
    seeded.seconds = {
        f"{name} rows": rows_done - started,
        f"{name} indexes": indexed - rows_done,
        f"{name} vacuum": done - indexed,
        name: done - started,
    }
    return seeded


def _seed_users(
    engine: Engine, count: int, password_hash: str, now: datetime
) -> list[tuple[int, int, bool]]:
    """``bench.users_seed``'s users, joining over the four years up to an hour ago (a few
    today); returns (id, created µs, active) for each."""
    rows = user_rows(SeedPlan(count, count // 2), password_hash)
    oldest = min(row["created_at"] for row in rows)
    newest = max(row["created_at"] for row in rows)
    start = now - timedelta(days=USER_DAYS)
    stretch = (now - timedelta(hours=1) - start) / (newest - oldest)
    for row in rows:
        row["created_at"] = start + (row["created_at"] - oldest) * stretch
        row["last_login_at"] = None
    bulk_insert(engine, rows)
    with engine.connect() as conn:
        found = conn.execute(select(User.id, User.created_at, User.status, User.email)).all()
    table = [
        (ident, to_us(created), status == UserStatus.active) for ident, created, status, _ in found
    ]
    admin = next(ident for ident, _created, _status, email in found if email == ADMIN_EMAIL)
    return [(ident, created, active or ident == admin) for ident, created, active in table]


def _finish_users(engine: Engine, last_active: dict[int, int], last_login: dict[int, int]) -> None:
    """``last_active_at`` as the recorder keeps it, and ``last_login_at``."""
    rows = [
        (stamp(moment), stamp(last_login[user]) if user in last_login else None, user)
        for user, moment in last_active.items()
    ]
    if engine.dialect.name == "sqlite":
        assert engine.url.database
        conn = sqlite3.connect(engine.url.database, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "UPDATE users SET last_active_at = ?, last_login_at = ? WHERE id = ?", rows
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            "CREATE TEMP TABLE bench_last_active (at timestamp, login_at timestamp, id integer)"
        )
        copy_csv(cursor, "bench_last_active", ("at", "login_at", "id"), rows)
        cursor.execute(
            "UPDATE users SET last_active_at = b.at, last_login_at = b.login_at "
            "FROM bench_last_active b WHERE users.id = b.id"
        )
        cursor.execute("DROP TABLE bench_last_active")
        raw.commit()
    finally:
        raw.close()
