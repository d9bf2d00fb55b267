#!/usr/bin/env python3
"""Rebuild the test photos in tests/data/samples/ from their sources.

Two kinds of image live here: public-domain / CC0 photos taken from the
scikit-image 0.26.0 wheel (fetched with `pip download`), and test cards this
script draws itself. Provenance and licences are in README.md beside this file.

Usage:
    python3 -m pip install pillow          # 13.0.0 made the committed files
    python3 tests/data/samples/make_samples.py  # fetches the wheel with pip
    python3 tests/data/samples/make_samples.py --skimage-wheel PATH/scikit_image-0.26.0-*.whl

Output is deterministic for a given Pillow version (no timestamps or random
numbers); another Pillow/libjpeg version may change bytes, not content.
"""

import argparse
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

HERE = Path(__file__).resolve().parent
SKIMAGE_VERSION = "0.26.0"

# EXIF tag numbers (TIFF/EXIF 2.32).
TAG_IMAGE_DESCRIPTION = 0x010E
TAG_MAKE = 0x010F
TAG_MODEL = 0x0110
TAG_ORIENTATION = 0x0112
TAG_SOFTWARE = 0x0131
TAG_ARTIST = 0x013B
TAG_COPYRIGHT = 0x8298
IFD_EXIF = 0x8769
TAG_DATETIME_ORIGINAL = 0x9003
TAG_OFFSET_TIME_ORIGINAL = 0x9011
TAG_SUBSEC_TIME_ORIGINAL = 0x9291

# Test cards are 3:2 like most camera sensors, and larger than the 2048 px
# `large` derivative so a run really downscales them.
CARD_SIZE = (2400, 1600)


def fetch_skimage_wheel(dest: Path) -> Path:
    """Download the scikit-image wheel with pip (no install, no dependencies)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
         f"scikit-image=={SKIMAGE_VERSION}", "-d", str(dest)],
        check=True,
    )
    wheels = sorted(dest.glob(f"scikit_image-{SKIMAGE_VERSION}-*.whl"))
    if not wheels:
        sys.exit(f"no scikit-image {SKIMAGE_VERSION} wheel in {dest}")
    return wheels[0]


def read_from_wheel(wheel: Path, member: str) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(member)
    print(f"  {member}: sha256 {hashlib.sha256(data).hexdigest()}")
    return data


def exif_block(*, orientation=None, description=None, artist=None, copyright_=None,
               make=None, model=None, capture=None) -> Image.Exif:
    """An EXIF block with only the fields given; capture = (datetime, subsec, offset)."""
    exif = Image.Exif()
    for tag, value in [
        (TAG_IMAGE_DESCRIPTION, description),
        (TAG_MAKE, make),
        (TAG_MODEL, model),
        (TAG_ORIENTATION, orientation),
        (TAG_SOFTWARE, "headshot sample-images/make_samples.py"),
        (TAG_ARTIST, artist),
        (TAG_COPYRIGHT, copyright_),
    ]:
        if value is not None:
            exif[tag] = value
    if capture is not None:
        datetime, subsec, offset = capture
        exif_ifd = exif.get_ifd(IFD_EXIF)
        exif_ifd[TAG_DATETIME_ORIGINAL] = datetime
        exif_ifd[TAG_SUBSEC_TIME_ORIGINAL] = subsec
        exif_ifd[TAG_OFFSET_TIME_ORIGINAL] = offset
    return exif


def stored_for_orientation_6(upright: Image.Image) -> Image.Image:
    """Pixels as a camera held 90 degrees clockwise stores them.

    Orientation 6 tells a viewer to rotate the stored image 90 degrees
    clockwise, so the stored pixels are the upright view turned 90 degrees
    counter-clockwise (PIL's ROTATE_90).
    """
    return upright.transpose(Image.Transpose.ROTATE_90)


def check_orientation_round_trip(path: Path, upright: Image.Image) -> None:
    """Fail loudly unless applying the file's EXIF orientation gives `upright`."""
    with Image.open(path) as stored:
        shown = ImageOps.exif_transpose(stored).convert("RGB")
    if shown.size != upright.size:
        sys.exit(f"{path.name}: upright size {shown.size}, expected {upright.size}")
    small_shown = shown.convert("L").resize((60, 40))
    small_upright = upright.convert("L").resize((60, 40))
    diff = sum(abs(a - b) for a, b in zip(small_shown.tobytes(), small_upright.tobytes()))
    mean_diff = diff / (60 * 40)
    if mean_diff > 4:
        sys.exit(f"{path.name}: upright view differs from the card (mean {mean_diff:.1f})")


def font(size: int) -> ImageFont.FreeTypeFont:
    # Pillow's built-in Aileron Regular (CC0), so no system fonts are needed.
    return ImageFont.load_default(size=size)


def centred_text(draw, xy, text, size, fill):
    draw.text(xy, text, font=font(size), fill=fill, anchor="mm")


def draw_test_card(subtitle: str) -> Image.Image:
    """An upright 3:2 card whose every wrong rotation or flip is obvious.

    Corner labels read backwards under a mirror and sit in the wrong corner
    under a rotation; the circle goes oval if the aspect ratio is lost; the
    grey ramp and colour bars show tone and channel order; the line wedges
    show how the resize filter treats fine detail.
    """
    width, height = CARD_SIZE
    card = Image.new("RGB", CARD_SIZE, (46, 52, 64))
    draw = ImageDraw.Draw(card)

    for x in range(0, width + 1, 200):
        draw.line([(x, 0), (x, height)], fill=(70, 78, 94), width=2)
    for y in range(0, height + 1, 200):
        draw.line([(0, y), (width, y)], fill=(70, 78, 94), width=2)
    draw.rectangle([0, 0, width - 1, height - 1], outline=(236, 239, 244), width=12)

    radius = 560
    cx, cy = width // 2, height // 2
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius],
                 outline=(235, 203, 139), width=10)

    # Arrow pointing up, with "UP" under it.
    arrow_top = 230
    draw.polygon([(cx, arrow_top), (cx - 120, arrow_top + 160), (cx + 120, arrow_top + 160)],
                 fill=(163, 190, 140))
    draw.rectangle([cx - 45, arrow_top + 150, cx + 45, arrow_top + 330], fill=(163, 190, 140))
    centred_text(draw, (cx, arrow_top + 430), "UP", 150, (236, 239, 244))
    centred_text(draw, (cx, 780), "headshot test card", 90, (236, 239, 244))
    centred_text(draw, (cx, 880), subtitle, 56, (235, 203, 139))

    corner_labels = [
        ((40, 40), "la", "TOP LEFT"),
        ((width - 40, 40), "ra", "TOP RIGHT"),
        ((40, height - 40), "ld", "BOTTOM LEFT"),
        ((width - 40, height - 40), "rd", "BOTTOM RIGHT"),
    ]
    for xy, anchor, text in corner_labels:
        draw.text(xy, text, font=font(64), fill=(236, 239, 244), anchor=anchor)

    # Colour bars: R G B C M Y W K.
    bars = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (0, 255, 255),
            (255, 0, 255), (255, 255, 0), (255, 255, 255), (0, 0, 0)]
    bar_width, bar_top, bar_bottom = 110, 1000, 1180
    bars_left = cx - bar_width * len(bars) // 2
    for index, colour in enumerate(bars):
        left = bars_left + index * bar_width
        draw.rectangle([left, bar_top, left + bar_width - 1, bar_bottom], fill=colour)

    # Grey ramp, 0..255 left to right.
    ramp_left, ramp_right, ramp_top, ramp_bottom = 300, width - 300, 1390, 1480
    for x in range(ramp_left, ramp_right):
        level = round(255 * (x - ramp_left) / (ramp_right - ramp_left - 1))
        draw.line([(x, ramp_top), (x, ramp_bottom)], fill=(level, level, level))

    # Line wedges: 1, 2 and 4 px black/white stripes, vertical and horizontal.
    for index, period in enumerate((2, 4, 8)):
        left = 140 + index * 170
        for x in range(left, left + 140, period):
            draw.rectangle([x, 300, x + period // 2 - 1, 560], fill=(255, 255, 255))
        top = 300 + index * 110
        for y in range(top, top + 90, period):
            draw.rectangle([width - 560, y, width - 140, y + period // 2 - 1], fill=(255, 255, 255))

    # A face-sized head-and-shoulders silhouette, off centre, for framing demos.
    head_cx, head_cy = 520, 1000
    draw.ellipse([head_cx - 90, head_cy - 120, head_cx + 90, head_cy + 120], fill=(208, 135, 112))
    draw.pieslice([head_cx - 230, head_cy + 130, head_cx + 230, head_cy + 560], 180, 360,
                  fill=(94, 129, 172))
    for eye_x in (head_cx - 38, head_cx + 38):
        draw.ellipse([eye_x - 12, head_cy - 30, eye_x + 12, head_cy - 6], fill=(46, 52, 64))
    draw.arc([head_cx - 45, head_cy + 10, head_cx + 45, head_cy + 70], 20, 160,
             fill=(46, 52, 64), width=8)

    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skimage-wheel", type=Path,
                        help=f"scikit-image {SKIMAGE_VERSION} wheel (downloaded with pip if absent)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: here)")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as scratch:
        wheel = args.skimage_wheel or fetch_skimage_wheel(Path(scratch))
        print(f"from {wheel.name}:")
        astronaut_png = read_from_wheel(wheel, "skimage/data/astronaut.png")
        camera_png = read_from_wheel(wheel, "skimage/data/camera.png")
        coffee_png = read_from_wheel(wheel, "skimage/data/coffee.png")

    # 1. Astronaut portrait (NASA, public domain) as a camera-style JPEG,
    #    keeping its sRGB ICC profile.
    astronaut = Image.open(io.BytesIO(astronaut_png))
    icc = astronaut.info.get("icc_profile")
    astronaut = astronaut.convert("RGB")
    credit = dict(
        description="Astronaut Eileen Collins (NASA portrait, from scikit-image 0.26.0)",
        artist="NASA",
        copyright_="Public domain (NASA); no known copyright restrictions",
    )
    astronaut.save(out / "astronaut.jpg", quality=92, icc_profile=icc,
                   exif=exif_block(orientation=1, **credit))

    # 2. The same portrait stored on its side with EXIF Orientation 6, as a
    #    camera held in portrait writes it. Upright view == astronaut.jpg.
    rotated_path = out / "astronaut_orientation-6.jpg"
    stored_for_orientation_6(astronaut).save(
        rotated_path, quality=92, icc_profile=icc, exif=exif_block(orientation=6, **credit))
    check_orientation_round_trip(rotated_path, astronaut)

    # 3. "Camera" (CC0, Lav Varshney), greyscale, widened to 16 bits per sample
    #    (v * 257 maps 0..255 onto 0..65535 exactly), as an LZW TIFF. As a
    #    little-endian 16-bit sample, v * 257 is the two bytes (v, v).
    camera = Image.open(io.BytesIO(camera_png)).convert("L")
    widened = bytes(byte for value in camera.tobytes() for byte in (value, value))
    camera16 = Image.frombytes("I;16", camera.size, widened)
    camera16.save(out / "camera_grey16.tif", compression="tiff_lzw")

    # 4. "Coffee" (CC0, Rachel Michetti) as shipped: an 8-bit RGB PNG, landscape.
    (out / "coffee.png").write_bytes(coffee_png)

    # 5. Test card, upright, as PNG with no metadata at all.
    draw_test_card("PNG, no EXIF: upright as stored").save(
        out / "test-card.png", optimize=True)

    # 6. Test card stored on its side with EXIF Orientation 6 and a capture
    #    time; upper-case .JPG like a camera names it.
    card6 = draw_test_card("JPEG stored sideways, EXIF Orientation 6")
    card6_path = out / "test-card_orientation-6.JPG"
    stored_for_orientation_6(card6).save(
        card6_path, quality=90,
        exif=exif_block(
            orientation=6,
            description="headshot test card, stored rotated 90 degrees counter-clockwise",
            make="headshot", model="make_samples.py test card",
            artist="headshot project", copyright_="headshot project, MIT OR Apache-2.0",
            capture=("2025:06:12 09:30:00", "250", "+02:00"),
        ))
    check_orientation_round_trip(card6_path, card6)

    total = 0
    for path in sorted(out.iterdir()):
        if path.suffix.lower() in {".jpg", ".png", ".tif"}:
            with Image.open(path) as image:
                print(f"{path.name:32} {image.format:5} {image.mode:5} "
                      f"{image.size[0]}x{image.size[1]}  {path.stat().st_size:>8} bytes")
            total += path.stat().st_size
    print(f"total {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
