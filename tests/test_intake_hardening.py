"""Intake details behind the hostile-input suite: what is kept, what is dropped, what is reset."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile, PngImagePlugin

from bot import messages
from bot.analysis.intake.containers import count_gif_frames, count_tiff_pages
from bot.analysis.intake.decode import open_photo
from bot.analysis.intake.refusals import IntakeError
from bot.analysis.intake.sniff import NOT_IMAGE_KINDS
from bot.analysis.pipeline.run import analyze
from bot.settings import Limits
from tests.hostile_cases import (
    apng,
    encode,
    gif_big_frames,
    jpeg_scans,
    noise_image,
    png_bad_text_crc,
    png_chunk,
    png_ztxt_bomb,
    small_png,
    tiff_many_pages,
)

LIMITS = Limits()


def test_bad_checksum_text_chunk_is_dropped_and_said():
    photo = open_photo(png_bad_text_crc(), "a.png", LIMITS)
    assert photo.damaged_chunks == ["tEXt"]
    assert "parameters" not in photo.text_chunks
    report = analyze(png_bad_text_crc(), "a.png")
    assert any("checksum" in n for n in report.verdict.not_checked)


def test_text_after_image_data_is_read_for_png_and_apng():
    tail = png_chunk(b"tEXt", b"parameters\x00Steps: 20, Sampler: Euler")
    assert (
        open_photo(small_png(extra_after_idat=tail), "a.png", LIMITS)
        .text_chunks["parameters"]
        .startswith("Steps: 20")
    )
    anim = apng(3)
    anim = anim[:-12] + tail + anim[-12:]  # before IEND
    photo = open_photo(anim, "a.png", LIMITS)
    assert photo.frames == 3
    assert "Steps: 20" in photo.text_chunks["parameters"]


def test_compressed_text_is_inflated_within_limits():
    ztxt = png_chunk(b"zTXt", b"prompt\x00\x00" + __import__("zlib").compress(b"a cat " * 1000))
    photo = open_photo(small_png(ztxt), "a.png", LIMITS)
    assert photo.text_chunks["prompt"] == "a cat " * 1000
    with pytest.raises(IntakeError) as err:
        open_photo(png_ztxt_bomb(), "a.png", LIMITS)
    assert err.value.code == "metadata_too_large"


def test_gif_frame_walk_agrees_with_pillow():
    frames = [Image.new("RGB", (40, 30), (i * 30, 200 - i * 20, 90)) for i in range(7)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    assert count_gif_frames(data, 10_000) == Image.open(io.BytesIO(data)).n_frames == 7
    assert count_gif_frames(gif_big_frames(50), 10) == 10  # stops early
    assert open_photo(data, "a.gif", LIMITS).frames == 7


def test_pillow_globals_are_restored_even_after_a_refusal():
    before = (
        Image.MAX_IMAGE_PIXELS,
        PngImagePlugin.MAX_TEXT_CHUNK,
        ImageFile.LOAD_TRUNCATED_IMAGES,
    )
    ImageFile.LOAD_TRUNCATED_IMAGES = True  # someone else's setting: intake must not use it...
    try:
        data = encode(Image.new("RGB", (300, 300), 5), "JPEG")
        with pytest.raises(IntakeError) as err:
            open_photo(data[: len(data) // 2], "cut.jpg", LIMITS)
        assert err.value.code == "truncated"  # ...so a truncated file is still refused
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # ...and must put it back
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before[2]
    assert before[:2] == (Image.MAX_IMAGE_PIXELS, PngImagePlugin.MAX_TEXT_CHUNK)


def test_refusals_name_the_format_they_promise():
    data = encode(Image.new("RGB", (300, 300), 5), "PNG")
    with pytest.raises(IntakeError) as err:
        open_photo(data[:20], "a.png", LIMITS)
    assert err.value.code in {"corrupt", "truncated"}
    assert "PNG" in err.value.message


def test_downscaled_is_cached_and_bounded():
    photo = open_photo(encode(Image.new("RGB", (2000, 1000), 5), "JPEG"), "a.jpg", LIMITS)
    small = photo.downscaled(512)
    assert small.size == (512, 256)
    assert photo.downscaled(512) is small
    assert photo.downscaled(4096).size == (2000, 1000)


def test_rgb_is_lazy_and_copies_only_when_it_must():
    photo = open_photo(encode(Image.new("RGB", (64, 48), 5), "JPEG"), "a.jpg", LIMITS)
    assert "rgb" not in photo.__dict__  # nothing converted until a check asks
    assert photo.rgb is photo.image
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    photo = open_photo(encode(rgba, "PNG"), "a.png", LIMITS)
    assert photo.rgb.mode == "RGB" and photo.rgb.getpixel((0, 0)) == (255, 255, 255)


def test_tiff_pages_are_counted_by_offsets_with_loops_detected():
    assert count_tiff_pages(tiff_many_pages(5, loop=True), 1000) == 5
    assert count_tiff_pages(tiff_many_pages(3000), 1001) == 1001
    multi = [Image.new("L", (8, 8), i * 40) for i in range(4)]
    data = encode(multi[0], "TIFF", save_all=True, append_images=multi[1:])
    assert count_tiff_pages(data, 1000) == Image.open(io.BytesIO(data)).n_frames == 4


def test_jpeg_scans_are_counted_past_the_first_and_limited():
    """Every scan is found (entropy data skipped at C speed, stuffed bytes and restart
    markers included); a real progressive photo passes, one more than the limit does not."""
    photo = encode(noise_image((640, 480)), "JPEG", progressive=True, restart_marker_blocks=4)
    scans = len(jpeg_scans(photo))
    assert scans >= 6
    assert open_photo(photo, "p.jpg", Limits()).format == "JPEG"
    assert open_photo(photo, "p.jpg", Limits(max_jpeg_scans=scans)).format == "JPEG"
    with pytest.raises(IntakeError) as refused:
        open_photo(photo, "p.jpg", Limits(max_jpeg_scans=scans - 1))
    assert refused.value.code == "too_complex"
    assert f"more than {scans - 1} scans" in refused.value.message


def test_every_kind_of_non_image_is_worded_in_the_catalogue() -> None:
    named = messages.table("intake.not_images")
    assert named.keys() >= NOT_IMAGE_KINDS
    assert all(str(named[kind])[:1].islower() for kind in NOT_IMAGE_KINDS)  # "…is a PDF, not…"
    refused = analyze(b"PK\x03\x04" + b"\x00" * 60, "cv.docx")
    assert refused.error_code == "not_an_image" and "ZIP archive" in refused.error


def test_too_large_is_worded_as_every_other_door_words_it() -> None:
    limits = Limits(max_bytes=1000)
    with pytest.raises(IntakeError) as refused:
        open_photo(b"\xff\xd8\xff" + b"\x00" * 2000, "big.jpg", limits)
    assert refused.value.code == "too_large"
    assert refused.value.message == messages.text("refusals.too_large", mb="0.001")
