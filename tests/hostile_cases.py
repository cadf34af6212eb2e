"""Builders for hostile and broken inputs, each paired with the outcomes it may have.

Every builder returns raw bytes made here, in memory, with real encoders or by writing the
format's bytes by hand (for what no encoder will produce: bombs, loops, bad checksums).
An outcome is an intake error code, or "ok" for a clean report.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

PNG_SIG = b"\x89PNG\r\n\x1a\n"
C2PA_UUID = bytes.fromhex("6332706100110010800000AA00389B71")


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    build: Callable[[], bytes]
    outcomes: frozenset[str]
    needle: str = ""  # a word the refusal must contain, when there is one to name


def _rng(seed: int = 7) -> random.Random:
    return random.Random(seed)


def noise_image(size: tuple[int, int], seed: int = 7) -> Image.Image:
    """Photo-like content that does not compress away (so truncation cuts real data)."""
    return Image.frombytes("RGB", size, _rng(seed).randbytes(size[0] * size[1] * 3))


def encode(im: Image.Image, fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


# --- PNG by hand ------------------------------------------------------------------------


def png_chunk(ctype: bytes, data: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(ctype + data) if crc is None else crc
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", crc & 0xFFFFFFFF)


def _png_ihdr(w: int, h: int, color_type: int = 2) -> bytes:
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0))


def small_png(extra_before_idat: bytes = b"", extra_after_idat: bytes = b"") -> bytes:
    """A valid 16×16 RGB PNG with extra chunks spliced in around its image data."""
    raw = b"".join(b"\x00" + bytes([40, 90, 140]) * 16 for _ in range(16))
    return (
        PNG_SIG
        + _png_ihdr(16, 16)
        + extra_before_idat
        + png_chunk(b"IDAT", zlib.compress(raw))
        + extra_after_idat
        + png_chunk(b"IEND", b"")
    )


def png_dimension_bomb() -> bytes:
    idat = png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
    return PNG_SIG + _png_ihdr(100_000, 100_000) + idat + png_chunk(b"IEND", b"")


def _zlib_bomb(megabytes: int) -> bytes:
    comp = zlib.compressobj(9)
    block = b"\x00" * 1_000_000
    return b"".join(comp.compress(block) for _ in range(megabytes)) + comp.flush()


def png_49_megapixels() -> bytes:
    """A legal 7000×7000 RGB PNG of one colour: 150 KB to send, ~200 MB once decoded."""
    comp = zlib.compressobj(9)
    row = b"\x00" + b"\x60" * (7000 * 3)
    idat = b"".join(comp.compress(row) for _ in range(7000)) + comp.flush()
    return PNG_SIG + _png_ihdr(7000, 7000) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def png_ztxt_bomb() -> bytes:
    return small_png(png_chunk(b"zTXt", b"parameters\x00\x00" + _zlib_bomb(200)))


def png_itxt_bomb_after_idat() -> bytes:
    body = b"Comment\x00\x01\x00en\x00\x00" + _zlib_bomb(200)
    return small_png(extra_after_idat=png_chunk(b"iTXt", body))


def png_bad_text_crc() -> bytes:
    text = png_chunk(b"tEXt", b"parameters\x00a portrait, Steps: 20", crc=0xDEADBEEF)
    return small_png(text)


def png_many_text_chunks() -> bytes:
    chunks = b"".join(png_chunk(b"tEXt", b"k%d\x00" % i + b"x" * 200) for i in range(60_000))
    return small_png(chunks)


def png_billion_laughs_itxt() -> bytes:
    return small_png(png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + BILLION_LAUGHS))


def png_garbage_cabx() -> bytes:
    return small_png(png_chunk(b"caBX", garbage_jumbf()))


def png_million_empty_chunks() -> bytes:
    return small_png(png_chunk(b"zzZz", b"") * 1_500_000)


def apng(frames: int = 3) -> bytes:
    ims = [Image.new("RGB", (32, 32), (i * 40, 80, 120)) for i in range(frames)]
    return encode(ims[0], "PNG", save_all=True, append_images=ims[1:], duration=100)


def apng_lying_frame_count() -> bytes:
    """acTL claims two billion frames; the file holds one."""
    actl = png_chunk(b"acTL", struct.pack(">II", 2_000_000_000, 0))
    fctl = png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, 16, 16, 0, 0, 1, 10, 0, 0))
    return small_png(actl + fctl)


def random_big_png() -> bytes:
    """A real, decodable PNG over the 25 MB byte limit (random pixels do not compress)."""
    return encode(noise_image((3000, 3000)), "PNG", compress_level=0)


# --- JPEG ---------------------------------------------------------------------------------


def small_jpeg(size: tuple[int, int] = (64, 64)) -> bytes:
    return encode(noise_image(size), "JPEG", quality=85)


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg_with_segments(*segments: bytes) -> bytes:
    """Insert segments right after SOI of a small valid JPEG."""
    base = small_jpeg()
    return base[:2] + b"".join(segments) + base[2:]


def jpeg_many_segments() -> bytes:
    rng = _rng(3)
    segs = []
    for i in range(6000):
        marker = 0xFE if i % 2 else 0xE2 + (i % 13)  # COM and APP2..APP14
        segs.append(jpeg_segment(marker, rng.randbytes(64)))
    return jpeg_with_segments(*segs)


def jpeg_million_empty_segments() -> bytes:
    return jpeg_with_segments(jpeg_segment(0xFE, b"") * 3_000_000)


def jpeg_fill_bytes() -> bytes:
    """20 MB of 0xFF fill bytes before the first marker after SOI (legal padding)."""
    return jpeg_with_segments(b"\xff" * 20_000_000)


def jpeg_scans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each scan in a JPEG: its SOS header plus the entropy data after it."""
    out, pos = [], data.find(b"\xff\xda")
    while pos >= 0:
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        while data[end] != 0xFF or data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
            end = data.index(b"\xff", end + 1)
        out.append((pos, end))
        pos = data.find(b"\xff\xda", end)
    return out


def jpeg_100k_empty_scans() -> bytes:
    """A 2000x2000 progressive JPEG whose last scan (a few EOB runs, 14 bytes) is repeated
    100,000 times: libjpeg decodes every scan over the whole image (~3 ms each here), so
    Pillow would spend about five minutes of CPU on these 1.4 MB."""
    data = encode(Image.new("RGB", (2000, 2000), (120, 100, 90)), "JPEG", progressive=True)
    start, end = jpeg_scans(data)[-1]
    return data[:end] + data[start:end] * 100_000 + data[end:]


def jpeg_sof_bomb() -> bytes:
    data = bytearray(small_jpeg())
    i = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, i + 5, 65_000, 65_000)
    return bytes(data)


def _exif_app1(tiff: bytes) -> bytes:
    return jpeg_segment(0xE1, b"Exif\x00\x00" + tiff)


def _ifd_entry(tag: int, typ: int, count: int, value: bytes) -> bytes:
    return struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\x00")


def exif_ifd_loop() -> bytes:
    """IFD0 names itself as its next IFD, its Exif IFD and its GPS IFD."""
    entries = [
        _ifd_entry(0x010F, 2, 4, b"Cam\x00"),
        _ifd_entry(0x8769, 4, 1, struct.pack("<I", 8)),
        _ifd_entry(0x8825, 4, 1, struct.pack("<I", 8)),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(entries) + struct.pack("<I", 8)
    return jpeg_with_segments(_exif_app1(b"II*\x00" + struct.pack("<I", 8) + ifd))


def exif_huge_counts() -> bytes:
    """Entries whose counts claim gigabytes, and an IFD claiming 65,535 entries."""
    entries = [
        _ifd_entry(0x010E, 2, 0x7FFFFFFF, struct.pack("<I", 26)),
        _ifd_entry(0x9286, 7, 0xFFFFFFFF, struct.pack("<I", 26)),
        _ifd_entry(0x0110, 2, 0x40000000, struct.pack("<I", 26)),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(entries) + struct.pack("<I", 64)
    sub = struct.pack("<H", 0xFFFF) + b"\x00" * 24
    return jpeg_with_segments(_exif_app1(b"II*\x00" + struct.pack("<I", 8) + ifd + sub))


XXE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
    b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="&xxe;"/>'
    b"</rdf:RDF></x:xmpmeta>"
)

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
    b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="&lol9;"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def jpeg_xxe_xmp() -> bytes:
    return jpeg_with_segments(jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XXE))


def jpeg_billion_laughs_xmp() -> bytes:
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + BILLION_LAUGHS
    return jpeg_with_segments(jpeg_segment(0xE1, payload))


def garbage_jumbf() -> bytes:
    """A JUMBF superbox labelled c2pa whose content boxes lie about their lengths."""
    jumd = b"jumd" + C2PA_UUID + b"\x03c2pa\x00"
    jumd = struct.pack(">I", len(jumd) + 4) + jumd
    rng = _rng(11)
    junk = struct.pack(">I", 0xFFFFFFF0) + b"jumb" + rng.randbytes(300)
    junk += struct.pack(">I", 1) + b"cbor" + struct.pack(">Q", 2**62) + rng.randbytes(200)
    body = b"jumb" + jumd + junk
    return struct.pack(">I", len(body) + 4) + body


def jpeg_garbage_c2pa() -> bytes:
    payload = b"JP" + struct.pack(">HI", 1, 1) + garbage_jumbf()
    return jpeg_with_segments(jpeg_segment(0xEB, payload), jpeg_segment(0xEB, payload))


def jpeg_zip_polyglot() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("payload.js", "alert(1)")
    return small_jpeg() + buf.getvalue()


# --- WebP, BMP -------------------------------------------------------------------------


def webp_canvas_bomb() -> bytes:
    """A real 64×64 VP8 frame inside a VP8X canvas that claims 16384×16384."""
    vp8 = encode(noise_image((64, 64)), "WEBP")[12:]
    side = (16384 - 1).to_bytes(3, "little")
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00" * 4 + side + side
    body = b"WEBP" + vp8x + vp8
    return b"RIFF" + struct.pack("<I", len(body)) + body


def bmp_dimension_bomb() -> bytes:
    """A BMP header claiming 60000×60000 at 24 bits, followed by a few bytes of pixels."""
    info = struct.pack("<IiiHHIIiiII", 40, 60_000, 60_000, 1, 24, 0, 0, 2835, 2835, 0, 0)
    pixels = b"\x80" * 4096
    head = b"BM" + struct.pack("<IHHI", 14 + len(info) + len(pixels), 0, 0, 14 + len(info))
    return head + info + pixels


# --- GIF ----------------------------------------------------------------------------------

_TINY_LZW = b"\x02\x02\x44\x01\x00"  # one pixel, code size 2


def _gif(width: int, height: int, frames: int, trailer: bytes = b";") -> bytes:
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0)
    palette = b"\x00\x00\x00\xff\xff\xff"
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = (
        b"!\xf9\x04\x04\x0a\x00\x00\x00"  # graphic control: 0.1 s
        + b","
        + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
        + _TINY_LZW
    )
    return head + palette + loop + frame * frames + trailer


def gif_dimension_bomb() -> bytes:
    return _gif(65_535, 65_535, 1)


def gif_5000_frames_n(n: int) -> bytes:
    return _gif(16, 16, n)


def gif_5000_frames() -> bytes:
    return gif_5000_frames_n(5000)


def gif_big_frames(frames: int) -> bytes:
    """Frames of 1500×1500 that compress to ~3 KB each: cheap to send, costly to decode."""
    one = encode(Image.new("P", (1500, 1500), 1), "GIF")
    pos = 13 + (3 << ((one[10] & 7) + 1) if one[10] & 0x80 else 0)
    while one[pos] == 0x21:  # skip extensions up to the image descriptor
        pos += 2
        while one[pos]:
            pos += one[pos] + 1
        pos += 1
    block = one[pos:-1]  # image descriptor + LZW data, without the trailer
    return _gif(1500, 1500, 0, trailer=b"") + block * frames + b";"


def gif_million_extensions() -> bytes:
    """Three million empty comment extensions before the first frame."""
    frame = _gif(16, 16, 1, trailer=b"")
    cut = frame.index(b"!\xf9")
    return frame[:cut] + b"!\xfe\x00" * 3_000_000 + frame[cut:] + b";"


def gif_tiny_subblocks() -> bytes:
    """One comment extension made of eight million 1-byte sub-blocks."""
    frame = _gif(16, 16, 1, trailer=b"")
    return frame + b"!\xfe" + b"\x01x" * 8_000_000 + b"\x00;"


def gif_js_polyglot() -> bytes:
    """GIF89a/*...*/=alert(1); : width bytes are '/*', the tail closes the comment."""
    data = bytearray(_gif(0x2A2F, 10, 1, trailer=b";*/=alert(document.domain);"))
    return bytes(data)


# --- TIFF ---------------------------------------------------------------------------------


def tiff_many_pages(pages: int = 3000, loop: bool = False) -> bytes:
    """Pages of 1×1 grey, each IFD pointing at the next (the last back at the first if loop)."""
    ifd_size = 2 + 8 * 12 + 4
    pixel_at = 8
    first = 16
    out = bytearray(b"II*\x00" + struct.pack("<I", first) + b"\x80" + b"\x00" * 7)
    for p in range(pages):
        here = first + p * ifd_size
        nxt = here + ifd_size if p < pages - 1 else (first if loop else 0)
        tags = [
            (256, 3, 1, 1),
            (257, 3, 1, 1),
            (258, 3, 1, 8),
            (259, 3, 1, 1),
            (262, 3, 1, 1),
            (273, 4, 1, pixel_at),
            (278, 3, 1, 1),
            (279, 4, 1, 1),
        ]
        out += struct.pack("<H", len(tags))
        for tag, typ, count, value in tags:
            out += struct.pack("<HHI", tag, typ, count) + struct.pack("<I", value)
        out += struct.pack("<I", nxt)
    return bytes(out)


# --- other formats ------------------------------------------------------------------------


def tiff_fat_pages(pages: int = 30, entries: int = 65_535) -> bytes:
    """Pages whose IFDs each claim 65,535 tags (Pillow reads every tag of every page)."""
    ifd_size = 2 + 12 * entries + 4
    out = bytearray(b"II*\x00" + struct.pack("<I", 16) + b"\x80" + b"\x00" * 7)
    tags = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1)]
    tags += [(273, 4, 1, 8), (278, 3, 1, 1), (279, 4, 1, 1)]
    filler = [(60000 + i % 5000, 3, 1, 0) for i in range(entries - len(tags))]
    for p in range(pages):
        nxt = 16 + (p + 1) * ifd_size if p < pages - 1 else 0
        out += struct.pack("<H", entries)
        for tag, typ, count, value in sorted(tags + filler):
            out += struct.pack("<HHII", tag, typ, count, value)
        out += struct.pack("<I", nxt)
    return bytes(out)


def psd() -> bytes:
    head = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, 8, 8, 8, 3)
    return head + struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0) + b"\x80" * (3 * 64)


def eps() -> bytes:
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\n"
        b"(%pipe%id) (w) file\nshowpage\n%%EOF\n"
    )


def heic() -> bytes:
    import pillow_heif

    buf = io.BytesIO()
    pillow_heif.from_pillow(noise_image((128, 96))).save(buf, quality=80)
    return buf.getvalue()


def elf() -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\x3e\x00" + os.urandom(200)


def zip_file() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("photo.jpg", small_jpeg())
    return buf.getvalue()


def _cut(build: Callable[[], bytes], keep: float) -> Callable[[], bytes]:
    def cut() -> bytes:
        data = build()
        return data[: int(len(data) * keep)]

    return cut


def _ok(*more: str) -> frozenset[str]:
    return frozenset({"ok", *more})


BROKEN = frozenset({"truncated", "corrupt"})
NOT_IMAGE = frozenset({"not_an_image"})
BOMB = frozenset({"decompression_bomb"})
COMPLEX = frozenset({"too_complex"})

CASES: tuple[Case, ...] = (
    Case("empty", "photo.jpg", lambda: b"", frozenset({"empty_file"})),
    Case("one_byte", "photo.jpg", lambda: b"\xff", NOT_IMAGE),
    Case("pdf", "cv.pdf", lambda: b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n", NOT_IMAGE, "PDF"),
    Case("zip", "photos.zip", zip_file, NOT_IMAGE, "ZIP"),
    Case(
        "html",
        "photo.jpg",
        lambda: b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
        NOT_IMAGE,
        "web page",
    ),
    Case(
        "svg_script",
        "avatar.svg",
        lambda: (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
            b"<script>alert(1)</script></svg>"
        ),
        NOT_IMAGE,
        "SVG",
    ),
    Case("plain_text", "photo.png", lambda: b"hello, this is my photo\n" * 20, NOT_IMAGE),
    Case("elf", "photo.png", elf, NOT_IMAGE, "program"),
    Case("random_bytes_jpg_name", "photo.jpg", lambda: _rng(5).randbytes(50_000), NOT_IMAGE),
    Case("png_signature_only", "photo.png", lambda: PNG_SIG, BROKEN),
    Case("truncated_jpeg", "cut.jpg", _cut(lambda: small_jpeg((400, 300)), 0.5), BROKEN),
    Case(
        "truncated_png",
        "cut.png",
        _cut(lambda: encode(noise_image((200, 200)), "PNG"), 0.5),
        BROKEN,
    ),
    Case(
        "truncated_webp",
        "cut.webp",
        _cut(lambda: encode(noise_image((200, 200)), "WEBP"), 0.5),
        BROKEN,
    ),
    Case(
        "truncated_gif",
        "cut.gif",
        _cut(lambda: encode(noise_image((200, 200)), "GIF"), 0.5),
        BROKEN,
    ),
    Case("png_100k_square", "bomb.png", png_dimension_bomb, BOMB),
    Case("gif_65k_square", "bomb.gif", gif_dimension_bomb, BOMB),
    Case("jpeg_65k_square", "bomb.jpg", jpeg_sof_bomb, BOMB),
    Case("webp_16k_canvas", "bomb.webp", webp_canvas_bomb, BOMB),
    Case("bmp_60k_square", "bomb.bmp", bmp_dimension_bomb, BOMB),
    Case("png_ztxt_zlib_bomb", "bomb.png", png_ztxt_bomb, frozenset({"metadata_too_large"})),
    Case(
        "png_itxt_zlib_bomb_after_idat",
        "bomb.png",
        png_itxt_bomb_after_idat,
        frozenset({"metadata_too_large"}),
    ),
    Case("png_bad_text_crc", "bad.png", png_bad_text_crc, _ok()),
    Case("png_60k_text_chunks", "chunks.png", png_many_text_chunks, _ok("metadata_too_large")),
    Case("png_1_5m_empty_chunks", "chunks.png", png_million_empty_chunks, COMPLEX),
    Case("jpeg_3m_empty_segments", "segs.jpg", jpeg_million_empty_segments, COMPLEX),
    Case("jpeg_20mb_fill_bytes", "fill.jpg", jpeg_fill_bytes, COMPLEX),
    Case("jpeg_100k_empty_scans", "scans.jpg", jpeg_100k_empty_scans, COMPLEX, "scans"),
    Case("gif_3m_extensions", "ext.gif", gif_million_extensions, COMPLEX),
    Case("gif_8m_tiny_subblocks", "sub.gif", gif_tiny_subblocks, COMPLEX),
    Case("tiff_30_pages_of_65k_tags", "fat.tif", tiff_fat_pages, COMPLEX),
    Case("tiff_1_page_of_65k_tags", "fat.tif", lambda: tiff_fat_pages(1), COMPLEX),
    Case("tiff_1_page_of_5k_tags", "fat.tif", lambda: tiff_fat_pages(1, 5000), _ok()),
    Case("jpeg_6000_segments", "segs.jpg", jpeg_many_segments, _ok()),
    Case("exif_ifd_loop", "loop.jpg", exif_ifd_loop, _ok()),
    Case("exif_huge_counts", "counts.jpg", exif_huge_counts, _ok()),
    Case("xmp_xxe_jpeg", "xxe.jpg", jpeg_xxe_xmp, _ok()),
    Case("xmp_billion_laughs_jpeg", "lol.jpg", jpeg_billion_laughs_xmp, _ok()),
    Case("xmp_billion_laughs_png_itxt", "lol.png", png_billion_laughs_itxt, _ok()),
    Case("c2pa_garbage_jpeg_app11", "c2pa.jpg", jpeg_garbage_c2pa, _ok()),
    Case("c2pa_garbage_png_cabx", "c2pa.png", png_garbage_cabx, _ok()),
    Case("polyglot_jpeg_zip", "poly.jpg", jpeg_zip_polyglot, _ok()),
    Case("polyglot_gif_js", "poly.gif", gif_js_polyglot, _ok(*BROKEN)),
    Case("gif_5000_frames", "anim.gif", gif_5000_frames, frozenset({"too_many_frames"})),
    Case("gif_900_big_frames", "anim.gif", lambda: gif_big_frames(900), _ok()),
    Case(
        "gif_1200_big_frames",
        "anim.gif",
        lambda: gif_big_frames(1200),
        frozenset({"too_many_frames"}),
    ),
    Case(
        "gif_1m_tiny_frames",
        "anim.gif",
        lambda: gif_5000_frames_n(1_000_000),
        frozenset({"too_many_frames"}),
    ),
    Case("apng", "anim.png", apng, _ok()),
    Case("apng_claims_2e9_frames", "anim.png", apng_lying_frame_count, _ok(*BROKEN)),
    Case("tiff_3000_pages", "pages.tif", tiff_many_pages, frozenset({"too_many_frames"})),
    Case(
        "tiff_page_loop",
        "loop.tif",
        lambda: tiff_many_pages(5, loop=True),
        _ok(*BROKEN, "unsupported_format"),
    ),
    Case("over_byte_limit", "big.png", random_big_png, frozenset({"too_large"}), "MB"),
    Case("psd", "photo.psd", psd, frozenset({"unsupported_format"}), "PSD"),
    Case(
        "ico",
        "favicon.ico",
        lambda: encode(Image.new("RGB", (32, 32)), "ICO"),
        frozenset({"unsupported_format"}),
    ),
    Case("eps_ghostscript", "photo.eps", eps, frozenset({"unsupported_format"})),
    Case("heic_valid", "photo.heic", heic, _ok()),
    Case("heic_truncated", "cut.heic", _cut(heic, 0.5), BROKEN),
    Case(
        "heic_header_then_garbage",
        "bad.heic",
        lambda: heic()[:40] + _rng(9).randbytes(4000),
        BROKEN | NOT_IMAGE,
    ),
)
