"""File names from uploads: never a path, never a control character, never empty."""

import unicodedata

FORBIDDEN = set('<>:"|?*')
MAX_NAME = 255

EXTENSION_TYPES = {
    ".dcm": "dcm",
    ".dicom": "dcm",
    ".dic": "dcm",
    ".png": "png",
    ".jpg": "jpg",
    ".jpeg": "jpg",
    ".tif": "tif",
    ".tiff": "tif",
    ".bmp": "bmp",
}


def safe_filename(raw: str | None) -> str:
    """The last path component, normalised, stripped of control and reserved characters."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if ch.isprintable() and ch not in FORBIDDEN)
    name = name.strip().lstrip(".").strip()
    if not name:
        return "upload"
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (
            (stem[: MAX_NAME - len(ext) - 1] + dot + ext)
            if dot and len(ext) <= 10
            else name[:MAX_NAME]
        )
    return name


def declared_type(name: str) -> str | None:
    """The file type the name's extension promises (None when it promises nothing we know)."""
    dot = name.rfind(".")
    return EXTENSION_TYPES.get(name[dot:].lower()) if dot > 0 else None
