"""Checks on a claim document's bytes on the way in: type by content, size, metadata, pages, thumbnail.

One job: decide whether an uploaded file may be kept, and turn it into what is kept. The type is
read from the bytes (magic numbers), never from the file name or the browser's content type, and
must be on the allow-list: JPEG, PNG, PDF, and HEIC/HEIF (phone cameras) because a maintained
decoder is installed (``pillow-heif``, libheif bundled in its wheel). Images are decoded and
**re-encoded** with Pillow (JPEG stays JPEG, PNG stays PNG, HEIC becomes JPEG), which drops
EXIF (GPS position, camera serial), XMP and comments: only the pixels, turned upright by the
EXIF orientation first, are kept. PDFs are opened with ``pypdf`` (page count; an encrypted or
broken PDF is refused) and their first page is drawn with ``pypdfium2`` for the thumbnail.

Every refusal is a :class:`FileRefused` (an ``InputError`` naming the field ``file``) with a
code and a message that says what was wrong and what is accepted: ``file.empty``,
``file.too_large``, ``file.type_not_allowed`` (with the type the bytes really are when known,
e.g. a PNG renamed ``.pdf``), ``file.corrupt``, ``file.too_many_pixels``, ``file.pdf_encrypted``,
``file.too_many_pages``.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import PurePath

from claims.errors import InputError

MAX_BYTES = 15 * 1024 * 1024
"""The largest file accepted (15 MiB: a phone photo is 2-8 MB, a scanned 20-page PDF ~10 MB)."""

MAX_PIXELS = 60_000_000
"""The largest image accepted, in pixels (a 200-megapixel phone photo is refused; this also stops
decompression bombs before Pillow decodes them)."""

MAX_PAGES = 200
"""The most pages a PDF may have."""

THUMB_SIZE = (320, 320)
"""The bounding box of a thumbnail (PNG)."""

JPEG, PNG, PDF, HEIC = "image/jpeg", "image/png", "application/pdf", "image/heic"
ALLOWED = (JPEG, PNG, PDF, HEIC)
"""The allow-list of content types, as read from the bytes."""

EXTENSION = {JPEG: ".jpg", PNG: ".png", PDF: ".pdf", HEIC: ".heic"}

_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}

# Types recognised only to say what a refused file really is
_KNOWN_OTHERS = (
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"PK\x03\x04", "application/zip (or a Word/Excel file)"),
    (b"\xd0\xcf\x11\xe0", "application/msword (an old Office file)"),
    (b"Rar!", "application/x-rar"),
    (b"\x1f\x8b", "application/gzip"),
    (b"MZ", "application/x-msdownload (a program)"),
    (b"\x7fELF", "application/x-executable (a program)"),
)


class FileRefused(InputError):
    """A file that may not be kept; ``field`` is ``file`` (or the form's field), ``code`` says why."""

    code = "file.refused"


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed the checks: what is kept.

    Attributes:
        content: the bytes kept (re-encoded for images; a PDF as uploaded).
        content_type: one of :data:`ALLOWED`, read from the bytes (HEIC is kept as JPEG).
        sha256: hex sha256 of ``content`` (the storage address).
        size: ``len(content)``.
        pages: pages of a PDF, 1 for an image.
        width / height: pixels of an image (None for a PDF).
        thumbnail: a PNG of at most :data:`THUMB_SIZE`; None when a PDF's first page could not
            be drawn (the console then shows a PDF icon).
        received_type: the type the uploaded bytes were (``image/heic`` for a photo converted).
    """

    content: bytes
    content_type: str
    sha256: str
    size: int
    pages: int
    width: int | None
    height: int | None
    thumbnail: bytes | None
    received_type: str


def sniff(data: bytes) -> str | None:
    """The content type the bytes are, from their first bytes; None when unknown."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:1024].lstrip(b"\x00\t\n\r\f ").startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return PDF
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in _HEIC_BRANDS:
        return HEIC
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, kind in _KNOWN_OTHERS:
        if data.startswith(magic):
            return kind
    return None


def _refuse(field: str, code: str, message: str, **params: object) -> FileRefused:
    return FileRefused(field, message, code=code, params=params)


def _type_by_name(name: str | None) -> str | None:
    suffix = PurePath(name or "").suffix.lower()
    return {".jpg": JPEG, ".jpeg": JPEG, ".png": PNG, ".pdf": PDF, ".heic": HEIC, ".heif": HEIC}.get(suffix)


def check_file(
    data: bytes, filename: str | None = None, *, field: str = "file", max_bytes: int = MAX_BYTES
) -> CheckedFile:
    """Check one uploaded file and return what is kept.

    Args:
        data: the bytes as uploaded.
        filename: the name the sender gave (only for the message: the type is read from the bytes).
        field: the name of the form field or option, for the refusal.
        max_bytes: the size limit.

    Raises:
        FileRefused: empty, too large, a type not on the allow-list (the message names what the
            bytes are when known, and that the name says otherwise), a corrupt image or PDF,
            too many pixels or pages, an encrypted PDF.
    """
    shown = PurePath(filename).name if filename else "the file"
    if not data:
        raise _refuse(field, "file.empty", f"{shown} is empty (0 bytes)", filename=shown)
    if len(data) > max_bytes:
        raise _refuse(
            field,
            "file.too_large",
            f"{shown} is {len(data) / 1048576:.1f} MB; at most {max_bytes / 1048576:.0f} MB is accepted",
            filename=shown,
            size=len(data),
            limit=max_bytes,
        )
    kind = sniff(data)
    if kind not in ALLOWED:
        named = _type_by_name(filename)
        what = f"its content is {kind}" if kind else "its content is not a recognised type"
        lie = f" although its name says {EXTENSION[named]}" if named else ""
        raise _refuse(
            field,
            "file.type_not_allowed",
            f"{shown}: {what}{lie}; accepted are JPEG, PNG, HEIC photos and PDF",
            filename=shown,
            detected=kind or "unknown",
        )
    named = _type_by_name(filename)
    if named is not None and named != kind and {named, kind} != {HEIC, JPEG}:
        # a faked extension (a PNG named .pdf): refused, so what the sender meant is not guessed
        raise _refuse(
            field,
            "file.type_not_allowed",
            f"{shown}: its content is {kind} although its name says {EXTENSION[named]}; "
            "send the file under its own type",
            filename=shown,
            detected=kind,
        )
    if kind == PDF:
        return _check_pdf(data, shown, field)
    return _check_image(data, kind, shown, field)


def _open_image(data: bytes, kind: str, shown: str, field: str):  # noqa: ANN202 - PIL.Image.Image
    from PIL import Image

    if kind == HEIC:
        import pillow_heif

        pillow_heif.register_heif_opener()
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > MAX_PIXELS:
                raise _refuse(
                    field,
                    "file.too_many_pixels",
                    f"{shown} is {img.width}×{img.height} pixels; "
                    f"at most {MAX_PIXELS // 1_000_000} megapixels",
                    filename=shown,
                )
            img.load()
    except FileRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(field, "file.too_many_pixels", f"{shown} has too many pixels", filename=shown) from None
    except Exception:  # noqa: BLE001 - any decoder failure is a corrupt image
        raise _refuse(
            field,
            "file.corrupt",
            f"{shown} is not a readable image (damaged or cut off); take the photo again",
            filename=shown,
        ) from None
    return img


def _check_image(data: bytes, kind: str, shown: str, field: str) -> CheckedFile:
    from PIL import Image, ImageOps

    img = _open_image(data, kind, shown, field)
    img = ImageOps.exif_transpose(img)  # upright before the EXIF is dropped
    out = io.BytesIO()
    if kind == PNG:
        mode = "RGBA" if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info else "RGB"
        clean = Image.new(mode, img.size)  # a fresh image: none of the original's chunks (eXIf, tEXt)
        clean.paste(img.convert(mode))
        clean.save(out, format="PNG", optimize=True)
        stored_type = PNG
    else:
        rgb = img.convert("RGB")
        rgb.save(out, format="JPEG", quality=90, optimize=True)  # no exif=..., so none is written
        stored_type = JPEG
    content = out.getvalue()
    thumb = img.copy()
    thumb.thumbnail(THUMB_SIZE)
    t = io.BytesIO()
    thumb.convert("RGBA" if "A" in thumb.mode else "RGB").save(t, format="PNG")
    return CheckedFile(
        content=content,
        content_type=stored_type,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        pages=1,
        width=img.width,
        height=img.height,
        thumbnail=t.getvalue(),
        received_type=kind,
    )


def _check_pdf(data: bytes, shown: str, field: str) -> CheckedFile:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise _refuse(
                field,
                "file.pdf_encrypted",
                f"{shown} is a password-protected PDF; send it without a password",
                filename=shown,
            )
        pages = len(reader.pages)
    except FileRefused:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError):
        raise _refuse(
            field, "file.corrupt", f"{shown} is not a readable PDF (damaged or cut off)", filename=shown
        ) from None
    if pages < 1:
        raise _refuse(field, "file.corrupt", f"{shown} is a PDF without pages", filename=shown)
    if pages > MAX_PAGES:
        raise _refuse(
            field,
            "file.too_many_pages",
            f"{shown} has {pages} pages; at most {MAX_PAGES}",
            filename=shown,
            pages=pages,
        )
    return CheckedFile(
        content=data,
        content_type=PDF,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        pages=pages,
        width=None,
        height=None,
        thumbnail=pdf_first_page(data),
        received_type=PDF,
    )


def pdf_first_page(data: bytes) -> bytes | None:
    """The first page of a PDF drawn as a PNG thumbnail (pypdfium2), or None if it cannot be drawn."""
    try:
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(data)
        try:
            page = doc[0]
            width, height = page.get_size()
            scale = min(THUMB_SIZE[0] / max(width, 1), THUMB_SIZE[1] / max(height, 1))
            img = page.render(scale=scale).to_pil()
            out = io.BytesIO()
            img.convert("RGB").save(out, format="PNG")
            return out.getvalue()
        finally:
            doc.close()
    except Exception:  # noqa: BLE001 - no thumbnail is not a refusal: pypdf read the pages
        return None
