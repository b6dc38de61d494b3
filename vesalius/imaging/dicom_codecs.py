"""Decoding one frame of DICOM pixel data, and which decoder handles which syntax.

Licences decide the plugins: pylibjpeg-libjpeg is GPL, so the JPEG family and JPEG-LS go
through python-gdcm; JPEG 2000 prefers pylibjpeg-openjpeg (a newer OpenJPEG than the one
inside GDCM) and falls back to GDCM; RLE prefers pylibjpeg-rle (C) over pydicom's own
pure-Python decoder. Uncompressed data needs no plugin.

pydicom refuses 12-bit JPEG Extended through GDCM, although GDCM decodes it (it ships a
12-bit libjpeg): the plugin registered below does what pydicom's GDCM plugin does, without
the refusal. GDCM tries its 8-bit codec first and prints one line to stderr before it
switches; that is noise, not an error.
"""

import struct
from collections.abc import Sequence
from typing import Any, Final

import gdcm  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
from pydicom import uid
from pydicom.pixels.decoders.base import DecodeRunner, get_decoder
from pydicom.pixels.utils import as_pixel_options

from vesalius.imaging.dicom_io import OpenedDicom
from vesalius.imaging.render_errors import CorruptImage, UnsupportedImage

JPEG12_PLUGIN: Final = "vesalius_gdcm12"
_GDCM_JPEG: Final = frozenset(
    {
        uid.JPEGBaseline8Bit,
        uid.JPEGExtended12Bit,
        uid.JPEGLossless,
        uid.JPEGLosslessSV1,
        uid.JPEGLSLossless,
        uid.JPEGLSNearLossless,
    }
)
_JPEG2000: Final = frozenset({uid.JPEG2000Lossless, uid.JPEG2000})

# pydicom's plugin interface: a module with these two names and a decode function.
DECODER_DEPENDENCIES: Final = {uid.JPEGExtended12Bit: ("gdcm>=3.0.10",)}


def is_available(syntax: str) -> bool:
    return syntax == uid.JPEGExtended12Bit


def decode_jpeg12_frame(src: bytes, runner: DecodeRunner) -> bytes:
    """One 12-bit JPEG Extended frame through GDCM (pydicom's GDCM plugin, minus the refusal)."""
    fragment = gdcm.Fragment()
    fragment.SetByteStringValue(src)
    fragments = gdcm.SequenceOfFragments.New()
    fragments.AddFragment(fragment)
    element = gdcm.DataElement(gdcm.Tag(0x7FE0, 0x0010))
    element.SetValue(fragments.__ref__())
    image = gdcm.Image()
    image.SetNumberOfDimensions(2)
    image.SetDimensions((runner.columns, runner.rows, 1))
    bits = runner.bits_stored
    image.SetPixelFormat(
        gdcm.PixelFormat(
            runner.samples_per_pixel,
            runner.bits_allocated,
            bits,
            bits - 1,
            runner.pixel_representation,
        )
    )
    kind = gdcm.PhotometricInterpretation.GetPIType(runner.photometric_interpretation)
    image.SetPhotometricInterpretation(gdcm.PhotometricInterpretation(kind))
    if runner.samples_per_pixel > 1:
        image.SetPlanarConfiguration(runner.planar_configuration)
    image.SetTransferSyntax(
        gdcm.TransferSyntax(gdcm.TransferSyntax.GetTSType(str(runner.transfer_syntax)))
    )
    image.SetDataElement(element)
    buffer = image.GetBuffer()
    if buffer is None:
        raise ValueError("GDCM could not decode the 12-bit JPEG frame")
    # GDCM hands the frame back as a str; surrogateescape restores the raw bytes.
    return bytes(buffer.encode("utf-8", "surrogateescape"))


def _register_jpeg12() -> None:
    decoder = get_decoder(uid.JPEGExtended12Bit)
    if JPEG12_PLUGIN not in decoder.available_plugins:
        decoder.add_plugin(JPEG12_PLUGIN, (__name__, "decode_jpeg12_frame"))


# Registered at import (under the import lock): ``add_plugin`` is not thread-safe.
_register_jpeg12()


def plugins_for(syntax: uid.UID, bits_stored: int) -> list[str]:
    """Decoding plugins to try, in order; ``[""]`` lets pydicom pick (uncompressed data)."""
    if syntax == uid.JPEGExtended12Bit and bits_stored > 8:
        preferred: Sequence[str] = (JPEG12_PLUGIN,)
    elif syntax in _GDCM_JPEG:
        preferred = ("gdcm",)
    elif syntax in _JPEG2000:
        preferred = ("pylibjpeg", "gdcm")
    elif syntax == uid.RLELossless:
        preferred = ("pylibjpeg", "pydicom")
    elif not syntax.is_compressed:
        return [""]
    else:
        preferred = ("pylibjpeg",)  # HTJ2K and anything pydicom adds later
    try:
        available = get_decoder(syntax).available_plugins
    except NotImplementedError:
        available = ()
    plugins = [name for name in preferred if name in available]
    if not plugins:
        raise UnsupportedImage(f"no decoder for the transfer syntax {syntax.name}")
    return plugins


def decode_frame(
    opened: OpenedDicom, frame: int, *, correct_unused_bits: bool
) -> tuple[npt.NDArray[Any], dict[str, str | int]]:
    """Decode frame ``frame`` straight from the stream: only that frame is read.

    Uncompressed frames come back as a read-only view on the bytes read (no copy). With
    ``correct_unused_bits=False`` the bits above Bits Stored are left as found; the grey
    lookup table masks them anyway, which saves a copy of the whole frame.
    """
    pixel = opened.pixel
    if pixel is None:
        raise UnsupportedImage("the file has no pixel data")
    syntax = opened.pixel_syntax
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as error:
        raise UnsupportedImage(f"no decoder for the transfer syntax {syntax.name}") from error
    try:
        options: dict[str, Any] = as_pixel_options(
            opened.dataset,
            transfer_syntax_uid=syntax,
            pixel_keyword=pixel.keyword,
            view_only=True,
            correct_unused_bits=correct_unused_bits,
        )
    except (TypeError, ValueError) as error:
        raise CorruptImage(f"the image attributes are malformed: {_describe(error)}") from error
    if pixel.vr:
        options["pixel_vr"] = pixel.vr
    failures: list[BaseException] = []
    for plugin in plugins_for(syntax, int(options.get("bits_stored") or 0)):
        opened.stream.seek(pixel.value_offset)
        try:
            array, properties = decoder.as_array(
                opened.stream, index=frame, decoding_plugin=plugin, **options
            )
        except MemoryError:
            raise
        except Exception as error:  # third-party codecs raise anything on bad data
            failures.append(error)
        else:
            return np.asarray(array), properties
    if all(isinstance(error, NotImplementedError) for error in failures):
        raise UnsupportedImage(f"the pixel data cannot be decoded: {_describe(failures[0])}")
    raise CorruptImage(f"the pixel data cannot be decoded: {_describe(failures[0])}")


def _describe(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    # pydicom's "exceptions were raised by all available plugins" puts the cause below.
    text = lines[-1] if lines else type(error).__name__
    if isinstance(error, struct.error):
        text = "the data ends early"
    return text[:200]
