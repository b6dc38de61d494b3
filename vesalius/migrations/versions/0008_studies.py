"""studies: patients, studies, series, instances and study senders, built from the images
already stored

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:20:00

The hierarchy is built here from the columns the images table already holds (patient ID
and name, the three UIDs, modality, study date, body part, view, laterality), in a few
INSERT … SELECT statements, so a populated database upgrades in seconds without opening a
file. ``vesalius studies reindex`` then completes the attributes only the headers hold
(accession number, descriptions, series numbers …). An instance stored twice before this
migration keeps its oldest image; the other copies stay outside any study.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import vesalius.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ELIGIBLE = (
    "file_type = 'dcm' AND study_instance_uid IS NOT NULL"
    " AND series_instance_uid IS NOT NULL AND sop_instance_uid IS NOT NULL"
)


def upgrade() -> None:
    _create_tables()
    _build_from_images()


def _create_tables() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("patient_name", sa.String(length=200), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("patient_id", "issuer", name="uq_patients_id_issuer"),
    )
    op.create_table(
        "studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("patient_pk", sa.Integer(), nullable=False),
        sa.Column("study_date", sa.Date(), nullable=True),
        sa.Column("study_time", sa.String(length=16), nullable=True),
        sa.Column("accession_number", sa.String(length=64), nullable=True),
        sa.Column("study_id", sa.String(length=64), nullable=True),
        sa.Column("study_description", sa.String(length=200), nullable=True),
        sa.Column("referring_physician", sa.String(length=200), nullable=True),
        sa.Column("modalities_in_study", sa.String(length=200), nullable=False),
        sa.Column("number_of_series", sa.Integer(), nullable=False),
        sa.Column("number_of_instances", sa.Integer(), nullable=False),
        sa.Column("created_at", vesalius.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", vesalius.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_pk"],
            ["patients.id"],
            name=op.f("fk_studies_patient_pk_patients"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
        sa.UniqueConstraint("study_instance_uid", name=op.f("uq_studies_study_instance_uid")),
    )
    op.create_index("ix_studies_accession_number", "studies", ["accession_number"], unique=False)
    op.create_index("ix_studies_patient_pk", "studies", ["patient_pk"], unique=False)
    op.create_index("ix_studies_study_date_id", "studies", ["study_date", "id"], unique=False)
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("study_pk", sa.Integer(), nullable=False),
        sa.Column("series_number", sa.Integer(), nullable=True),
        sa.Column("modality", sa.String(length=16), nullable=True),
        sa.Column("series_description", sa.String(length=200), nullable=True),
        sa.Column("series_date", sa.Date(), nullable=True),
        sa.Column("body_part", sa.String(length=64), nullable=True),
        sa.Column("laterality", sa.String(length=4), nullable=True),
        sa.Column("view_position", sa.String(length=16), nullable=True),
        sa.Column("number_of_instances", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_pk"],
            ["studies.id"],
            name=op.f("fk_series_study_pk_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series")),
        sa.UniqueConstraint("series_instance_uid", name=op.f("uq_series_series_instance_uid")),
    )
    op.create_index(
        "ix_series_study_pk_number", "series", ["study_pk", "series_number"], unique=False
    )
    op.create_table(
        "study_senders",
        sa.Column("study_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "via",
            sa.Enum(
                "upload",
                "stow",
                "c-store",
                name="study_sender_via",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("calling_ae", sa.String(length=16), nullable=True),
        sa.Column("first_sent_at", vesalius.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_pk"],
            ["studies.id"],
            name=op.f("fk_study_senders_study_pk_studies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_study_senders_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("study_pk", "user_id", name=op.f("pk_study_senders")),
    )
    op.create_index(
        "ix_study_senders_user_id", "study_senders", ["user_id", "study_pk"], unique=False
    )
    op.create_table(
        "instances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("series_pk", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("sop_class_uid", sa.String(length=64), nullable=True),
        sa.Column("instance_number", sa.Integer(), nullable=True),
        sa.Column("transfer_syntax_uid", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_instances_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["series_pk"],
            ["series.id"],
            name=op.f("fk_instances_series_pk_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
        sa.UniqueConstraint("image_id", name=op.f("uq_instances_image_id")),
        sa.UniqueConstraint("sop_instance_uid", name=op.f("uq_instances_sop_instance_uid")),
    )
    op.create_index(
        "ix_instances_series_pk_number", "instances", ["series_pk", "instance_number"], unique=False
    )


def _build_from_images() -> None:
    # Each level is grouped by its key; where the images of one key disagree (they should
    # not), MIN picks one value deterministically.
    op.execute(
        "INSERT INTO patients (patient_id, issuer, patient_name)"
        " SELECT COALESCE(patient_id, ''), '', MAX(patient_name)"
        f" FROM images WHERE {ELIGIBLE} GROUP BY COALESCE(patient_id, '')"
    )
    op.execute(
        "INSERT INTO studies (study_instance_uid, patient_pk, study_date, modalities_in_study,"
        " number_of_series, number_of_instances, created_at, updated_at)"
        " SELECT g.uid, p.id, g.study_date, '', 0, 0, g.created_at, g.updated_at FROM"
        " (SELECT study_instance_uid AS uid, MIN(COALESCE(patient_id, '')) AS pid,"
        "  MIN(study_date) AS study_date, MIN(created_at) AS created_at,"
        "  MAX(created_at) AS updated_at"
        f"  FROM images WHERE {ELIGIBLE} GROUP BY study_instance_uid) g"
        " JOIN patients p ON p.patient_id = g.pid AND p.issuer = ''"
    )
    op.execute(
        "INSERT INTO series (series_instance_uid, study_pk, modality, body_part, laterality,"
        " view_position, number_of_instances)"
        " SELECT g.uid, s.id, g.modality, g.body_part, g.laterality, g.view_position, 0 FROM"
        " (SELECT series_instance_uid AS uid, MIN(study_instance_uid) AS study_uid,"
        "  MIN(modality) AS modality, MIN(body_part) AS body_part,"
        "  MIN(laterality) AS laterality, MIN(view_position) AS view_position"
        f"  FROM images WHERE {ELIGIBLE} GROUP BY series_instance_uid) g"
        " JOIN studies s ON s.study_instance_uid = g.study_uid"
    )
    op.execute(
        "INSERT INTO instances (sop_instance_uid, series_pk, image_id, sop_class_uid,"
        " transfer_syntax_uid)"
        " SELECT i.sop_instance_uid, se.id, i.id, i.sop_class_uid, i.transfer_syntax_uid FROM"
        " (SELECT MIN(id) AS image_id"
        f"  FROM images WHERE {ELIGIBLE} GROUP BY sop_instance_uid) g"
        " JOIN images i ON i.id = g.image_id"
        " JOIN series se ON se.series_instance_uid = i.series_instance_uid"
    )
    op.execute(
        "INSERT INTO study_senders (study_pk, user_id, via, first_sent_at)"
        " SELECT s.id, i.user_id, 'upload', MIN(i.created_at)"
        " FROM images i JOIN studies s ON s.study_instance_uid = i.study_instance_uid"
        f" WHERE i.{ELIGIBLE.replace(' AND ', ' AND i.')} GROUP BY s.id, i.user_id"
    )
    op.execute(
        "UPDATE series SET number_of_instances ="
        " (SELECT count(*) FROM instances WHERE instances.series_pk = series.id)"
    )
    op.execute(
        "UPDATE studies SET"
        " number_of_series = (SELECT count(*) FROM series WHERE series.study_pk = studies.id),"
        " number_of_instances = (SELECT COALESCE(SUM(series.number_of_instances), 0)"
        "  FROM series WHERE series.study_pk = studies.id)"
    )
    # The modalities of a study, one backslash-separated value: string aggregation is
    # spelled differently by SQLite and PostgreSQL, and there is one row per series here.
    bind = op.get_bind()
    modalities: dict[int, set[str]] = {}
    for study_pk, modality in bind.execute(
        sa.text("SELECT DISTINCT study_pk, modality FROM series WHERE modality IS NOT NULL")
    ):
        modalities.setdefault(study_pk, set()).add(modality)
    for study_pk, values in modalities.items():
        bind.execute(
            sa.text("UPDATE studies SET modalities_in_study = :m WHERE id = :id"),
            {"m": "\\".join(sorted(values)), "id": study_pk},
        )


def downgrade() -> None:
    op.drop_table("instances")
    op.drop_table("study_senders")
    op.drop_table("series")
    op.drop_table("studies")
    op.drop_table("patients")
