"""Why an image could not be rendered. All of these are permanent: retrying will not help."""


class RenderError(Exception):
    """The image cannot be rendered; ``str(error)`` is a short reason for a person."""


class UnsupportedImage(RenderError):
    """Valid, but something we do not render (no pixel data, a syntax or colour model we
    cannot decode, a frame that does not exist)."""


class FrameOutOfRange(UnsupportedImage, IndexError):
    """The requested frame does not exist (a caller's mistake rather than the file's)."""


class CorruptImage(RenderError):
    """The file claims to be an image but its data cannot be decoded (truncated, damaged)."""


class ImageTooLarge(RenderError):
    """Declares more pixels than allowed (a decompression bomb guard)."""
