"""The DICOM hierarchy. An instance is an ``images`` row (the imaging domain's) that belongs to
a series; ordinary images belong to no study and have no row here.

Each level holds the attributes people search and list by (``attributes.py`` says which),
so a study list or a QIDO answer never opens a file. Counts are kept up to date by the
service as instances arrive and go.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vesalius.db import Base, string_enum, utcnow


class Via(StrEnum):
    upload = "upload"
    stow = "stow"
    c_store = "c-store"


class Patient(Base):
    __tablename__ = "patients"
    # DICOM keys a patient by Patient ID within its issuer; an empty ID is one patient too.
    __table_args__ = (UniqueConstraint("patient_id", "issuer", name="uq_patients_id_issuer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), default="")
    issuer: Mapped[str] = mapped_column(String(64), default="")
    patient_name: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[date | None]
    sex: Mapped[str | None] = mapped_column(String(16))


class Study(Base):
    __tablename__ = "studies"
    # Newest study first is the list's order; patient name/ID searches go through patients.
    __table_args__ = (
        Index("ix_studies_study_date_id", "study_date", "id"),
        Index("ix_studies_patient_pk", "patient_pk"),
        Index("ix_studies_accession_number", "accession_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    study_date: Mapped[date | None]
    study_time: Mapped[str | None] = mapped_column(String(16))
    accession_number: Mapped[str | None] = mapped_column(String(64))
    study_id: Mapped[str | None] = mapped_column(String(64))
    study_description: Mapped[str | None] = mapped_column(String(200))
    referring_physician: Mapped[str | None] = mapped_column(String(200))
    # Backslash-separated, as DICOM writes a multi-valued CS (``CT\PT``), sorted.
    modalities_in_study: Mapped[str] = mapped_column(String(200), default="")
    number_of_series: Mapped[int] = mapped_column(default=0)
    number_of_instances: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Series(Base):
    __tablename__ = "series"
    __table_args__ = (Index("ix_series_study_pk_number", "study_pk", "series_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    study_pk: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    series_number: Mapped[int | None]
    modality: Mapped[str | None] = mapped_column(String(16))
    series_description: Mapped[str | None] = mapped_column(String(200))
    series_date: Mapped[date | None]
    body_part: Mapped[str | None] = mapped_column(String(64))
    laterality: Mapped[str | None] = mapped_column(String(4))
    view_position: Mapped[str | None] = mapped_column(String(16))
    number_of_instances: Mapped[int] = mapped_column(default=0)


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (Index("ix_instances_series_pk_number", "series_pk", "instance_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    series_pk: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), unique=True)
    sop_class_uid: Mapped[str | None] = mapped_column(String(64))
    instance_number: Mapped[int | None]
    transfer_syntax_uid: Mapped[str | None] = mapped_column(String(64))


class StudySender(Base):
    """Who sent (part of) a study: the access rule lets clinicians and researchers see what
    they sent, by upload, STOW-RS, or through a DICOM node they own."""

    __tablename__ = "study_senders"
    __table_args__ = (Index("ix_study_senders_user_id", "user_id", "study_pk"),)

    study_pk: Mapped[int] = mapped_column(
        ForeignKey("studies.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    via: Mapped[Via] = mapped_column(string_enum(Via, "study_sender_via"), default=Via.upload)
    calling_ae: Mapped[str | None] = mapped_column(String(16))
    first_sent_at: Mapped[datetime] = mapped_column(default=utcnow)
