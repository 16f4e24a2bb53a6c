"""The profile photo (F1): checked, cleaned and made small before it goes to the register.

A photo from the phone's camera or library carries metadata the member may not know about:
EXIF with the GPS position where it was taken, the time, the phone's make and serial
numbers, XMP and IPTC blocks, comments, thumbnails. None of it may leave. So the photo is
never passed on as sent: it is decoded, turned upright by its EXIF orientation, flattened
onto white if it has transparency, converted to sRGB, scaled down to at most
`OUTPUT_MAX_SIDE` pixels, and encoded again from its pixels alone as a baseline JPEG. The
new file has no EXIF, XMP, ICC or comment block, only the JFIF header.

What is accepted is decided by the bytes, not by the Content-Type: the header must name one
of ACCEPTED_TYPES (else 415), and the content must then decode as JPEG, PNG or WebP, whatever
the header said (else 422). HEIC, which iPhones take, is not decoded here: the app sends the
JPEG the system photo picker gives it. Size limits keep a small instance safe from huge or
crafted images (a "decompression bomb"): at most MAX_UPLOAD_BYTES sent, MAX_SOURCE_PIXELS
and MAX_SIDE by the header, and at most MAX_DECODED_PIXELS actually decoded (a JPEG is
decoded at a reduced scale, 1/2 to 1/8, so a 48-megapixel camera photo stays small).

Pillow is imported on first use: ~12 ms for PIL.Image, ImageOps and the three format
plugins (on top of an imported profile function, median of five fresh interpreters), paid
by the first photo upload of an instance, not by a profile read. Cleaning a 12-megapixel
camera JPEG takes ~50 ms of one core here (a PNG of that size ~200 ms: it cannot be decoded
at reduced scale); the function's fractional vCPU makes that a few times longer.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.problems import UnsupportedMediaType
from ..core.validation import field_error

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage

#: Content-Type header -> the Pillow format it announces.
ACCEPTED_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
#: Largest upload (413 above it). A phone photo is 2-6 MiB; the app may send it as taken.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Largest image by its header: a 48-megapixel camera photo fits.
MAX_SOURCE_PIXELS = 50_000_000
MAX_SIDE = 12_000
#: Most pixels decoded at once (4 bytes each in RGBA: 64 MB, safe in a 256 MiB instance).
MAX_DECODED_PIXELS = 16_000_000
#: The stored photo: at most this many pixels on its longer side.
OUTPUT_MAX_SIDE = 1024
OUTPUT_QUALITY = 85
OUTPUT_TYPE = "image/jpeg"
FIELD = "photo"


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    content_type: str
    width: int
    height: int


def _invalid(code: str, nb: str, en: str):
    return field_error(FIELD, code, nb, en)


def media_type(header: str | None) -> str:
    """The announced media type, or 415 when it is not one we take."""
    mtype = (header or "").split(";", 1)[0].strip().lower()
    if mtype not in ACCEPTED_TYPES:
        raise UnsupportedMediaType(
            {
                "nb": "Send bildet som JPEG, PNG eller WebP (image/jpeg, image/png, image/webp).",
                "en": "Send the photo as JPEG, PNG or WebP (image/jpeg, image/png, image/webp).",
            }
        )
    return mtype


def _open(data: bytes) -> PILImage.Image:
    from PIL import Image, JpegImagePlugin, PngImagePlugin, WebPImagePlugin  # noqa: F401

    try:
        # formats=: only these three decoders ever see the bytes, whatever the header says.
        return Image.open(io.BytesIO(data), formats=list(set(ACCEPTED_TYPES.values())))
    except Exception:  # UnidentifiedImageError, DecompressionBombError, a broken header  # noqa: BLE001
        raise _invalid(
            "not_an_image",
            "Filen er ikke et JPEG-, PNG- eller WebP-bilde vi kan lese.",
            "The file is not a JPEG, PNG or WebP image we can read.",
        ) from None


def _decode(img: PILImage.Image) -> PILImage.Image:
    """Checks the size, then decodes (a JPEG at the smallest scale still >= the output)."""
    width, height = img.size
    too_many = width * height > MAX_SOURCE_PIXELS or max(width, height) > MAX_SIDE
    if min(width, height) < 1 or too_many:
        raise _invalid(
            "too_many_pixels",
            f"Bildet er for stort. Største bilde er {MAX_SOURCE_PIXELS // 1_000_000} "
            f"megapiksler og {MAX_SIDE} piksler på den lengste siden.",
            f"The image is too large. The largest is {MAX_SOURCE_PIXELS // 1_000_000} "
            f"megapixels and {MAX_SIDE} pixels on its longer side.",
        )
    if img.format in ("JPEG", "MPO"):
        img.draft(
            "RGB" if img.mode in ("RGB", "YCbCr") else img.mode, (OUTPUT_MAX_SIDE, OUTPUT_MAX_SIDE)
        )
    if img.size[0] * img.size[1] > MAX_DECODED_PIXELS:
        raise _invalid(
            "too_many_pixels",
            f"Bildet er for stort. Send et bilde på høyst "
            f"{MAX_DECODED_PIXELS // 1_000_000} megapiksler.",
            f"The image is too large. Send one of at most "
            f"{MAX_DECODED_PIXELS // 1_000_000} megapixels.",
        )
    try:
        img.seek(0)  # an animated PNG or WebP: the first frame
        img.load()
    except MemoryError:
        raise
    except Exception:  # truncated or corrupt pixel data  # noqa: BLE001
        raise _invalid(
            "not_an_image",
            "Bildet er skadet og kan ikke leses.",
            "The image is damaged and cannot be read.",
        ) from None
    return img


def _upright(img: PILImage.Image) -> PILImage.Image:
    from PIL import ImageOps

    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block: keep the pixels as they are  # noqa: BLE001
        return img


def _plain_pixels(img: PILImage.Image) -> PILImage.Image:
    """RGB or L, with transparency flattened onto white."""
    from PIL import Image

    has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if img.mode in ("RGB", "L", "CMYK"):
        return img
    if img.mode.startswith("I"):  # 16-bit greyscale PNG: scale to 8 bits, not clip
        return img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    return img.convert("RGB")


def _to_srgb(img: PILImage.Image, icc: bytes | None) -> PILImage.Image:
    """Colours as the source profile meant them (a phone's Display P3, a print CMYK), in
    sRGB, so the profile itself need not travel along."""
    if icc and img.mode in ("RGB", "CMYK"):
        try:
            from PIL import ImageCms

            converted = ImageCms.profileToProfile(
                img,
                ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
            if converted is not None:  # None only with inPlace=True
                return converted
        except Exception:  # an unreadable profile: fall back to the plain conversion  # noqa: BLE001, S110
            pass
    return img if img.mode in ("RGB", "L") else img.convert("RGB")


def clean(data: bytes, content_type: str | None) -> CleanPhoto:
    """The photo, upright, small and without any metadata, as a JPEG; or 415 / 422."""
    media_type(content_type)
    if not data:
        raise _invalid("required", "Bildet mangler.", "The photo is missing.")
    if len(data) > MAX_UPLOAD_BYTES:  # the HTTP layer stops larger bodies first
        raise _invalid("too_large", "Bildet er for stort.", "The photo is too large.")
    from PIL import Image

    source = _open(data)
    icc = source.info.get("icc_profile")
    img = _decode(source)
    img = _plain_pixels(_upright(img))
    img.thumbnail((OUTPUT_MAX_SIDE, OUTPUT_MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    img = _to_srgb(img, icc)
    # A new image from the pixels alone: nothing of the source's `info` (EXIF, XMP, ICC,
    # comment, DPI) can reach the encoder, which would otherwise copy some of it.
    bare = Image.new(img.mode, img.size)
    bare.paste(img)
    out = io.BytesIO()
    bare.save(out, "JPEG", quality=OUTPUT_QUALITY, optimize=True, exif=b"")
    source.close()
    return CleanPhoto(out.getvalue(), OUTPUT_TYPE, bare.width, bare.height)
