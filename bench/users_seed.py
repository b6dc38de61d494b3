"""A realistic users table, written fast (executemany on SQLite, COPY on PostgreSQL).

Roles and statuses are spread as on a hospital hub; ``created_at`` values are distinct
except in "bulk import" batches that share one instant, and one such batch straddles the
deep page's cursor so that page is only right if the ``id`` tie-breaker works. About a
tenth of the users were "migrated" late: their ids are out of ``created_at`` order, so the
newest-first order is not simply ``id DESC``.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bench.bulk import bulk_load
from bench.seeding import rising_instants, tie
from vesalius.accounts.models import Role, User, UserStatus

ADMIN_EMAIL = "admin@bench.example"
EPOCH = datetime(2022, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=4 * 365)
SEED = 20_261_123

ROLE_WEIGHTS = {
    Role.clinician: 50,
    Role.radiologist: 30,
    Role.researcher: 19,
    Role.admin: 1,
}
STATUS_WEIGHTS = {UserStatus.active: 85, UserStatus.disabled: 7, UserStatus.pending: 8}
IMPORT_BATCH_CHANCE = 1 / 200  # a batch of 2-25 users created in the same microsecond
MIGRATED_SHARE = 0.10
STRADDLE = 10  # users each side of the deep cursor sharing its created_at

# Names as text: 40 first names × 50 surnames, each surname on ~2% of users.
_FIRST = """Ada Alan Amara Anders Aylin Bea Carlos Chen Dana Dmitri Elif Emeka Eva Farah Greta Hana
Hugo Ines Ivan Jonas Kenji Lars Leila Lina Mateo Mei Nadia Noor Omar Paula Priya Rafael Rosa Sami
Sofia Tariq Uma Viktor Yara Zoe"""
_LAST = """Andersen Bauer Castillo Dubois Eriksen Fischer Garcia Haddad Ito Jansen Kowalski
Lindqvist Moreau Nakamura Novak Okafor Petrov Quinn Rossi Schmidt Silva Suzuki Tanaka Ueda Varga
Weber Xu Yilmaz Zhang Olsen Bianchi Costa Dimitrov Evans Fontaine Gruber Horvat Ivanova Kim Larsen
Meyer Nielsen Ortiz Park Rahman Sato Torres Vogel Wagner Young"""
FIRST_NAMES = _FIRST.split()
LAST_NAMES = _LAST.split()
DOMAINS = ("st-olaf-hospital.org", "uniklinik-nord.de", "imaging-research.edu", "city-rad.net")


@dataclass(frozen=True)
class SeedPlan:
    count: int
    depth: int  # the deep page starts after this many users (newest first)

    def straddle_range(self) -> range:
        """Ascending-order indices of the import batch around the deep cursor."""
        cursor_row = self.count - self.depth  # ascending index of newest-first rank ``depth``
        return range(cursor_row - STRADDLE, cursor_row + STRADDLE)


def created_at_values(plan: SeedPlan, rng: random.Random) -> list[datetime]:
    """Ascending creation times over four years, with import batches sharing an instant."""
    stamps = rising_instants(
        plan.count,
        start=EPOCH,
        span=SPAN,
        batch_chance=IMPORT_BATCH_CHANCE,
        largest_batch=25,
        rng=rng,
    )
    stamps[0] = EPOCH  # the bench's admin, oldest of all
    tie(stamps, plan.straddle_range())
    return stamps


def user_rows(plan: SeedPlan, password_hash: str) -> list[dict[str, Any]]:
    """Rows in insertion order (which decides the ids)."""
    rng = random.Random(SEED)
    stamps = created_at_values(plan, rng)
    roles, role_weights = list(ROLE_WEIGHTS), list(ROLE_WEIGHTS.values())
    statuses, status_weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    rows: list[dict[str, Any]] = []
    for index, stamp in enumerate(stamps):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        status = rng.choices(statuses, status_weights)[0]
        logged_in = status is UserStatus.active and rng.random() < 0.7
        rows.append(
            {
                "email": f"{first}.{last}{index}@{rng.choice(DOMAINS)}".lower(),
                "display_name": f"{first} {last}",
                "password_hash": password_hash,
                "role": rng.choices(roles, role_weights)[0],
                "status": status,
                "created_at": stamp,
                "last_login_at": stamp + timedelta(days=rng.uniform(0, 300)) if logged_in else None,
                "totp_secret_encrypted": None,
                "totp_enabled": False,
                "totp_last_step": None,
            }
        )
    rows[0].update(email=ADMIN_EMAIL, display_name="Bench Admin", role=Role.admin)
    rows[0].update(status=UserStatus.active)
    # Equal instants in random id order, and a tenth of the users inserted last.
    order = sorted(range(1, len(rows)), key=lambda i: (stamps[i], rng.random()))
    migrated = set(rng.sample(order, int(len(order) * MIGRATED_SHARE)))
    late = [i for i in order if i in migrated]
    rng.shuffle(late)
    on_time = [i for i in order if i not in migrated]
    return [rows[0]] + [rows[i] for i in on_time + late]


def bulk_insert(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    columns = list(rows[0])
    bulk_load(engine, User.__table__, columns, ([row[c] for c in columns] for row in rows))
