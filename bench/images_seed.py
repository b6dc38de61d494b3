"""A realistic images table of any size, generated as rows for ``bench.bulk.bulk_load``.

Owners: a few hundred users, one of them a screening centre that uploaded a tenth of all
images (so one user's gallery is deep enough to page 50,000 images into). Types as on a
mammography hub: mostly DICOM (MG, then CR/CT/MR/US), some PNG/JPEG/TIFF. Creation times
rise over four years; multi-file uploads share one instant, and one such batch straddles
the deep cursor, so a page there is only right if the ``id`` tie-breaker works.
"""

import itertools
import random
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table

from bench.bulk import copy_value, loader
from bench.seeding import rising_instants, tie
from vesalius.imaging.models import FileType, Image, ImageStatus

EPOCH = datetime(2022, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=4 * 365)
SEED = 20_261_124
BATCH_CHANCE = 1 / 20  # an upload of 2-12 files sharing one created_at
STRADDLE = 6  # images each side of a deep cursor sharing its created_at

COLUMNS = (
    "user_id",
    "original_name",
    "file_type",
    "content_type",
    "size_bytes",
    "sha256",
    "storage_key",
    "width",
    "height",
    "bit_depth",
    "frames",
    "status",
    "failure_reason",
    "created_at",
    "updated_at",
    "processed_at",
    "patient_id",
    "patient_name",
    "study_instance_uid",
    "series_instance_uid",
    "sop_instance_uid",
    "sop_class_uid",
    "modality",
    "study_date",
    "body_part",
    "view_position",
    "laterality",
    "manufacturer",
    "photometric_interpretation",
    "transfer_syntax_uid",
    "window_center",
    "window_width",
)

# (modality, weight, width, height, bits, bytes per pixel after compression, body part)
DICOM_KINDS = (
    ("MG", 50, 3328, 4096, 16, 1.2, "BREAST"),
    ("CR", 15, 2048, 2500, 12, 1.0, "CHEST"),
    ("CT", 15, 512, 512, 16, 2.0, "ABDOMEN"),
    ("MR", 12, 256, 256, 16, 2.0, "HEAD"),
    ("US", 8, 800, 600, 8, 3.0, "ABDOMEN"),
)
RASTER_KINDS = (
    (FileType.png, "image/png", 1920, 1080, 8),
    (FileType.jpg, "image/jpeg", 4032, 3024, 8),
    (FileType.tif, "image/tiff", 2048, 2048, 16),
)
DICOM_WEIGHTS = [kind[1] for kind in DICOM_KINDS]
DICOM_SHARE = 0.85
SURNAMES = ("NAKAMURA", "OKAFOR", "LINDQVIST", "GARCIA", "SCHMIDT", "ROSSI", "HADDAD", "NOVAK")
MANUFACTURERS = ("HOLOGIC, Inc.", "GE MEDICAL SYSTEMS", "SIEMENS", "FUJIFILM Corporation")
MG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.1.2"
CT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT_LITTLE = "1.2.840.10008.1.2.1"
JPEG2000 = "1.2.840.10008.1.2.4.90"


@dataclass(frozen=True)
class ImagesPlan:
    count: int
    owners: Sequence[int]  # user ids; the first is the screening centre
    heavy_share: float = 0.10
    depth: int = 0  # a batch of equal created_at values straddles this newest-first rank

    def heavy_count(self) -> int:
        return int(self.count * self.heavy_share)


def _created_at_values(plan: ImagesPlan, rng: random.Random) -> list[datetime]:
    stamps = rising_instants(
        plan.count, start=EPOCH, span=SPAN, batch_chance=BATCH_CHANCE, largest_batch=12, rng=rng
    )
    if plan.depth:
        cursor_row = plan.count - plan.depth
        tie(stamps, range(cursor_row - STRADDLE, cursor_row + STRADDLE))
    return stamps


def _uid(rng: random.Random) -> str:
    return "1.2.826.0.1.3680043.8.498." + str(rng.getrandbits(100))


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def image_rows(plan: ImagesPlan) -> Iterator[tuple[Any, ...]]:
    """Rows in ``COLUMNS`` order, oldest first (so ids mostly follow creation time).

    The screening centre (``owners[0]``) owns ``heavy_share`` of the images, spread evenly
    in time, so its gallery is as deep as ``heavy_share × count``.
    """
    rng = random.Random(SEED)
    stamps = _created_at_values(plan, rng)
    heavy_every = round(1 / plan.heavy_share) if plan.heavy_share else 0
    others = list(plan.owners[1:]) or [plan.owners[0]]
    for index, created in enumerate(stamps):
        owner = plan.owners[0] if heavy_every and index % heavy_every == 0 else rng.choice(others)
        status = ImageStatus.ready
        failure = None
        roll = rng.random()
        if roll < 0.01:
            status, failure = ImageStatus.failed, "not a usable DICOM file: truncated pixel data"
        elif index >= plan.count - 5 and roll < 0.5:
            status = ImageStatus.processing
        processed = None if status is ImageStatus.processing else created + timedelta(seconds=3)
        stem = "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))
        storage_key = f"originals/{created:%Y/%m/%d}/{_hex(rng, 32)}"
        is_dicom = rng.random() < DICOM_SHARE
        if is_dicom:
            kind = rng.choices(DICOM_KINDS, DICOM_WEIGHTS)[0]
            modality, _weight, width, height, bits, bytes_per_pixel, body = kind
            name, file_type, content_type = (
                f"{modality}_{stem}.dcm",
                FileType.dcm,
                "application/dicom",
            )
            size = int(width * height * bytes_per_pixel)
        else:
            file_type, content_type, width, height, bits = rng.choice(RASTER_KINDS)
            name = f"photo_{stem}.{file_type.value}"
            size = int(width * height * rng.uniform(0.3, 1.5))
        head = (owner, name, file_type, content_type, size, _hex(rng, 64), storage_key)
        shape = (width, height, bits, 1, status, failure, created, processed or created, processed)
        if not is_dicom:
            yield (*head, *shape, *([None] * 16))
            continue
        mammo = modality == "MG"
        yield (
            *head,
            *shape,
            f"P{rng.randint(1, 400_000):07d}",
            f"{rng.choice(SURNAMES)}^{rng.choice(string.ascii_uppercase)}",
            _uid(rng),
            _uid(rng),
            _uid(rng),
            MG_SOP_CLASS if mammo else CT_SOP_CLASS,
            modality,
            (created - timedelta(days=rng.randint(0, 30))).date(),
            body,
            rng.choice(("CC", "MLO")) if mammo else None,
            rng.choice(("L", "R")) if mammo else None,
            rng.choice(MANUFACTURERS),
            "MONOCHROME1" if mammo and rng.random() < 0.3 else "MONOCHROME2",
            JPEG2000 if mammo else EXPLICIT_LITTLE,
            2048.0 if bits >= 12 else 128.0,
            4096.0 if bits >= 12 else 256.0,
        )


CHUNK_ROWS = 50_000


def stored_form(
    engine: Engine, table: Table, columns: Sequence[str]
) -> Callable[[Sequence[Any]], list[Any]]:
    """Turns a row of Python values into what the database stores, as the app would bind
    them: the columns' own bind processors on SQLite (its datetime text format), COPY's
    CSV values on PostgreSQL."""
    if engine.dialect.name == "postgresql":
        return lambda row: [copy_value(value) for value in row]
    processors = [
        (index, processor)
        for index, name in enumerate(columns)
        if (processor := table.c[name].type.bind_processor(engine.dialect)) is not None
    ]

    def convert(row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for index, processor in processors:
            values[index] = processor(values[index])
        return values

    return convert


def load_images(engine: Engine, plan: ImagesPlan, on_chunk: Callable[[int], None]) -> int:
    """Insert ``plan.count`` images in chunks of 50,000; returns how many."""
    table: Table = Image.__table__  # type: ignore[assignment]
    convert = stored_form(engine, table, COLUMNS)
    rows = image_rows(plan)
    total = 0
    engine.dispose()  # the loader's own connection changes SQLite's journal mode: alone
    with loader(engine) as load:
        while chunk := [convert(row) for row in itertools.islice(rows, CHUNK_ROWS)]:
            load.write(table.name, COLUMNS, chunk)
            total += len(chunk)
            on_chunk(total)
    return total
