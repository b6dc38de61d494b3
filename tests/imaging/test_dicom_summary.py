"""read_summary proves a file is DICOM from its header and summarises it; sniff_is_dicom."""

import datetime as dt
import io
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.uid import DeflatedExplicitVRLittleEndian, RLELossless

from tests.imaging.dicom_factory import dicom_bytes, make_dicom
from tests.imaging.reference import bundled
from vesalius.imaging.dicom import DicomSummary, InvalidDicom, read_summary, sniff_is_dicom


def test_ct_small_summary() -> None:
    summary = read_summary(bundled("CT_small.dcm"))
    reference = dcmread(bundled("CT_small.dcm"))
    assert summary == DicomSummary(
        patient_id=reference.PatientID,
        patient_name=str(reference.PatientName),
        study_instance_uid=reference.StudyInstanceUID,
        series_instance_uid=reference.SeriesInstanceUID,
        sop_instance_uid=reference.SOPInstanceUID,
        sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
        modality="CT",
        study_date=dt.date(2004, 1, 19),
        body_part=None,
        view_position=None,
        laterality=None,
        manufacturer="GE MEDICAL SYSTEMS",
        photometric_interpretation="MONOCHROME2",
        transfer_syntax_uid="1.2.840.10008.1.2.1",
        rows=128,
        columns=128,
        frames=1,
        bits_allocated=16,
        bits_stored=16,
        samples_per_pixel=1,
        window_center=None,
        window_width=None,
        has_pixels=True,
    )


def test_mammogram_fields(tmp_path: Path) -> None:
    path = make_dicom(
        tmp_path / "mg.dcm",
        rows=32,
        columns=24,
        modality="MG",
        laterality="R",
        view="MLO",
        window=[(1500, 3000), (2000, 1000)],
        frames=2,
        patient_id="P-42",
        patient_name="Doe^Jane",
        study_date=dt.date(2025, 2, 28),
    )
    summary = read_summary(path)
    assert (summary.modality, summary.laterality, summary.view_position) == ("MG", "R", "MLO")
    assert (summary.window_center, summary.window_width) == (1500.0, 3000.0)  # first pair
    assert (summary.rows, summary.columns, summary.frames) == (32, 24, 2)
    assert (summary.patient_id, summary.patient_name) == ("P-42", "Doe^Jane")
    assert summary.study_date == dt.date(2025, 2, 28)
    assert summary.body_part == "BREAST"


def test_laterality_falls_back_to_series_laterality(tmp_path: Path) -> None:
    path = make_dicom(tmp_path / "a.dcm", laterality=None, extra={"Laterality": "L"})
    assert read_summary(path).laterality == "L"


def test_values_are_cleaned_and_capped(tmp_path: Path) -> None:
    long_name = "^".join(["A" * 60, "B" * 60, "C" * 60, "D" * 60])
    # pydicom warns about the invalid values when writing and when reading them: real
    # files carry such values, and the summary must still come out.
    with pytest.warns(UserWarning, match="PN component length|Invalid value for VR DA"):
        path = make_dicom(
            tmp_path / "a.dcm",
            patient_id=" ID\x00 ",
            patient_name=long_name,
            study_date=None,
            extra={"StudyDate": "2024XX01", "Manufacturer": "  Acme\x00\x00"},
        )
    with pytest.warns(UserWarning, match="PN component length|Invalid value for VR DA"):
        summary = read_summary(path)
    assert summary.patient_id == "ID"
    assert summary.patient_name == long_name[:200]
    assert summary.study_date is None  # malformed date: None, not an error
    assert summary.manufacturer == "Acme"


def test_reads_from_a_stream_and_an_unseekable_one() -> None:
    data = bundled("MR_small.dcm").read_bytes()
    assert read_summary(io.BytesIO(data)).modality == "MR"

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override,unused-ignore]
            chunk = self.inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    stream: BinaryIO = io.BufferedReader(Unseekable())
    assert read_summary(stream).rows == 64


def test_does_not_read_the_pixel_data(tmp_path: Path) -> None:
    """Header only: of a 10 MB file, only the header's bytes are read."""
    path = make_dicom(tmp_path / "big.dcm", rows=2500, columns=2000)
    read_bytes = 0

    class Counting(io.FileIO):
        def read(self, size: int | None = -1) -> bytes:
            nonlocal read_bytes
            chunk = super().read(size)
            read_bytes += len(chunk)
            return chunk

    with Counting(path) as stream:
        summary = read_summary(stream)
    assert summary.has_pixels
    assert read_bytes < 16_384 < path.stat().st_size // 500


@pytest.mark.parametrize(
    ("name", "modality", "has_pixels"),
    [
        ("rtplan.dcm", "RTPLAN", False),
        ("image_dfl.dcm", None, True),  # deflated
        ("JPEG2000.dcm", "NM", True),
        ("ExplVR_BigEndNoMeta.dcm", "RTPLAN", False),  # no preamble, big endian
        ("ExplVR_LitEndNoMeta.dcm", "RTPLAN", False),  # no preamble
    ],
)
def test_bundled_files_are_accepted(name: str, modality: str | None, has_pixels: bool) -> None:
    summary = read_summary(bundled(name))
    assert summary.has_pixels is has_pixels
    assert summary.sop_instance_uid
    if modality:
        assert summary.modality == modality


def test_a_file_without_preamble_is_accepted_when_it_is_a_dicom_data_set(tmp_path: Path) -> None:
    path = make_dicom(tmp_path / "bare.dcm", file_meta=False, modality="CT")
    assert not sniff_is_dicom(path.read_bytes()[:132])
    summary = read_summary(path)
    assert summary.modality == "CT"
    assert summary.transfer_syntax_uid is None  # no file meta: the syntax was inferred
    assert summary.has_pixels


def test_misaligned_no_meta_file_is_refused() -> None:
    """pydicom's no_meta.dcm starts one byte into CT_small's data set (a stray 0x20 byte),
    so even pydicom parses it into nothing: no SOP UIDs, not a usable DICOM object."""
    with pytest.raises(InvalidDicom):
        read_summary(bundled("no_meta.dcm"))


PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (PNG_HEAD, "not a DICOM file"),
        (b"MZ\x90\x00" + b"\x00" * 400, "not a DICOM file"),
        (b"hello, this is text\n" * 20, "not a DICOM file"),
        (b"\x00" * 128 + b"DICM" + bytes(range(256)) * 4, "truncated"),
    ],
)
def test_non_dicom_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidDicom, match=reason):
        read_summary(io.BytesIO(data))


def test_dicm_without_sop_uids_is_refused() -> None:
    data = dicom_bytes(sop_instance_uid="1.2.3", extra={})
    ds = dcmread(io.BytesIO(data))
    del ds.SOPInstanceUID, ds.SOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
    del ds.file_meta.MediaStorageSOPClassUID
    buffer = io.BytesIO()
    ds.save_as(buffer)
    with pytest.raises(InvalidDicom, match="SOP"):
        read_summary(io.BytesIO(buffer.getvalue()))


def test_truncations_are_refused() -> None:
    data = bundled("CT_small.dcm").read_bytes()
    for cut in (140, 300, 700, 1000, 3000):  # inside the file meta and the header
        with pytest.raises(InvalidDicom, match="truncated"):
            read_summary(io.BytesIO(data[:cut]))
    # CT_small has 138 bytes of other elements after its 32,768 bytes of pixel data.
    with pytest.raises(InvalidDicom, match="pixel data is truncated: 31906 of 32768"):
        read_summary(io.BytesIO(data[:-1000]))
    with pytest.raises(InvalidDicom, match="pixel data is truncated: 8130 of 8192"):
        read_summary(bundled("MR_truncated.dcm"))
    with pytest.raises(InvalidDicom, match="truncated"):
        read_summary(bundled("rtplan_truncated.dcm"))


def test_cut_exactly_before_the_pixel_data_is_refused() -> None:
    """The header is whole, but an image without pixel data is a truncated file."""
    data = bundled("CT_small.dcm").read_bytes()
    ds = dcmread(io.BytesIO(data), stop_before_pixels=True)
    buffer = io.BytesIO()
    ds.save_as(buffer)
    with pytest.raises(InvalidDicom, match="no pixel data"):
        read_summary(io.BytesIO(buffer.getvalue()))


def test_truncated_compressed_pixel_data_is_refused(tmp_path: Path) -> None:
    path = make_dicom(tmp_path / "rle.dcm", rows=64, columns=64, transfer_syntax=RLELossless)
    data = path.read_bytes()
    assert read_summary(io.BytesIO(data)).has_pixels
    with pytest.raises(InvalidDicom, match="compressed pixel data is truncated"):
        read_summary(io.BytesIO(data[:-50]))


def test_deflate_bomb_header_is_refused(tmp_path: Path) -> None:
    """A deflated file whose header inflates beyond 16 MiB: refused without inflating it
    all (pydicom itself would inflate the whole body in memory)."""
    path = make_dicom(
        tmp_path / "bomb.dcm",
        transfer_syntax=DeflatedExplicitVRLittleEndian,
        extra={"PixelPaddingValue": 0},
    )
    ds = dcmread(path)
    ds.add_new(0x00091010, "LO", "Vesalius")
    ds.add_new(0x00091011, "OB", bytes(20 * 1024 * 1024))
    ds.save_as(path)
    assert path.stat().st_size < 200_000
    with pytest.raises(InvalidDicom, match="larger than we accept"):
        read_summary(path)


def test_corrupt_deflate_stream_is_refused(tmp_path: Path) -> None:
    path = make_dicom(tmp_path / "d.dcm", transfer_syntax=DeflatedExplicitVRLittleEndian)
    data = bytearray(path.read_bytes())
    meta_end = data.index(b"1.2.840.10008.1.2.1.99") + 40
    data[meta_end + 20 : meta_end + 60] = b"\xff" * 40
    with pytest.raises(InvalidDicom):
        read_summary(io.BytesIO(bytes(data)))
    assert zlib  # the deflate bomb and corruption cases are the reason zlib matters here


def test_sniff_is_dicom() -> None:
    head = bundled("CT_small.dcm").read_bytes()[:132]
    assert sniff_is_dicom(head)
    assert not sniff_is_dicom(head[:131])
    assert not sniff_is_dicom(PNG_HEAD)
    assert not sniff_is_dicom(b"\x00" * 128 + b"DICN")


def test_generated_pixels_round_trip(tmp_path: Path) -> None:
    """The factory writes pixels exactly as given (the rendering tests rely on it)."""
    pixels = np.arange(12, dtype=np.int64).reshape(3, 4) * 100 - 500
    path = make_dicom(tmp_path / "a.dcm", rows=3, columns=4, signed=True, pixels=pixels)
    assert np.array_equal(dcmread(path).pixel_array, pixels)
