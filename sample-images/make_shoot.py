#!/usr/bin/env python3
"""Rebuild sample-images/: a tiny conference booth shoot for `headshot run sample-images`.

Two attendees photographed at a booth, each after a photographed QR slate (the
cards come from `headshot slates`), after a test shot of the empty backdrop. The
portraits are public-domain photos from registry packages (provenance in
README.md beside this file); this script turns each into a few "frames" as a
camera would write them: slightly different framing and exposure, capture
times seconds apart, camera make and model in EXIF.

Usage (from the repository root):
    python3 -m pip install pillow==13.0.0
    cargo build --release
    python3 sample-images/make_shoot.py --headshot "$CARGO_TARGET_DIR/release/headshot"

It downloads the scikit-image and matplotlib wheels with pip (no install, no
dependencies) unless given with --skimage-wheel / --matplotlib-wheel, checks
the SHA-256 of every file it takes from them, and checks that every slate
frame reads as a slate with `headshot inspect --slates`. Output is
deterministic for a given Pillow version (no clock, no random numbers).
"""

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from PIL import Image, ImageChops, ImageFilter

HERE = Path(__file__).resolve().parent

# (package, version, member, sha256) for every source image.
SOURCES = {
    "astronaut": ("scikit-image", "0.26.0", "skimage/data/astronaut.png",
                  "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"),
    "hopper": ("matplotlib", "3.11.2", "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
               "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"),
}

ROSTER = """id,name,company,tags
A017,Eileen Collins,NASA,astronaut;keynote
A023,Grace Hopper,US Navy,speaker;compilers
"""

SHOOT_FILE = """# The shoot file `headshot run sample-images --out gallery` picks up (flags override it).
event = "Example Conf 2025"
credit = "headshot sample shoot"
copyright = "Public domain portraits (NASA, US Navy); frames made by sample-images/make_shoot.py"
crop = "headshot-4x5"
export = "gallery"
slates = true
roster = "roster.csv"
"""

# EXIF tag numbers (TIFF/EXIF 2.32).
TAG_MAKE = 0x010F
TAG_MODEL = 0x0110
TAG_ORIENTATION = 0x0112
TAG_SOFTWARE = 0x0131
IFD_EXIF = 0x8769
TAG_DATETIME_ORIGINAL = 0x9003
TAG_OFFSET_TIME_ORIGINAL = 0x9011
TAG_SUBSEC_TIME_ORIGINAL = 0x9291

CAMERA = ("headshot", "make_shoot.py booth camera")
DATE = "2025:06:12"
OFFSET = "+02:00"

JPEG_QUALITY = 85
# Slates and the light test: a 4:5 portrait-held camera frame.
SLATE_SIZE = (1280, 1600)

# One portrait frame: (window as fractions of the source: left, top, right, bottom; EV).
Variation = tuple[tuple[float, float, float, float], float]

# Per person: roster id, source, the clock time of the slate, the frames' long edge, the
# headroom added above and below (fractions of the source height) and the portrait frames.
# The sources are framed tight; the headroom (their own top and bottom rows, stretched and
# blurred like an out-of-focus backdrop) gives a 4:5 head-and-shoulders crop the room it needs,
# and the long edge (Lanczos upscaling) lets that crop reach the headshot-4x5 preset's
# min_size of 1200 px, as a real camera frame would: the frames show framing, not detail.
PEOPLE = [
    ("A017", "astronaut", "09:41:05", 2100, (0.08, 0.0), [
        ((0.00, 0.00, 1.00, 1.00), 0.0),
        ((0.03, 0.00, 1.00, 0.97), -0.3),
        ((0.00, 0.00, 0.96, 1.00), 0.25),
    ]),
    ("A023", "hopper", "09:43:30", 1600, (0.10, 0.05), [
        ((0.00, 0.00, 1.00, 1.00), 0.0),
        ((0.02, 0.00, 1.00, 1.00), 0.3),
        ((0.00, 0.00, 0.97, 1.00), -0.2),
    ]),
]
# Before the first attendee: a test shot of the empty backdrop to check the light. It has no
# face and comes before any slate, so the run flags it for review and leaves it unnamed.
LIGHT_TEST_CLOCK = "09:40:21"


def fetch_wheel(package: str, version: str, dest: Path) -> Path:
    """Download one wheel with pip (no install, no dependencies)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
         f"{package}=={version}", "-d", str(dest)],
        check=True,
    )
    prefix = package.replace("-", "_")
    wheels = sorted(dest.glob(f"{prefix}-{version}-*.whl"))
    if not wheels:
        sys.exit(f"no {package} {version} wheel in {dest}")
    return wheels[0]


def read_source(wheel: Path, member: str, expected_sha256: str) -> Image.Image:
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(member)
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        sys.exit(f"{wheel.name}: {member} has sha256 {digest}, expected {expected_sha256}")
    print(f"  {member}: sha256 {digest}")
    return Image.open(io.BytesIO(data)).convert("RGB")


def exposure(image: Image.Image, ev: float) -> Image.Image:
    """Scales linear light by 2**ev (sRGB approximated as gamma 2.2), clipping at white."""
    if ev == 0:
        return image
    gain = 2.0 ** ev
    table = [min(255, round(255 * min(1.0, (v / 255) ** 2.2 * gain) ** (1 / 2.2))) for v in range(256)]
    return image.point(table * 3)


def with_headroom(source: Image.Image, top: float, bottom: float) -> Image.Image:
    """Extends the photo up and down with its own edge rows, stretched and blurred."""
    width, height = source.size
    top_px, bottom_px = round(top * height), round(bottom * height)
    canvas = Image.new("RGB", (width, height + top_px + bottom_px))
    canvas.paste(source, (0, top_px))
    for pad, edge, at in ((top_px, (0, 0, width, 6), 0),
                          (bottom_px, (0, height - 6, width, height), top_px + height)):
        if pad:
            strip = source.crop(edge).resize((width, pad), Image.Resampling.BICUBIC)
            canvas.paste(strip.filter(ImageFilter.GaussianBlur(pad / 3)), (0, at))
    # Soften the seams so the backdrop fades into the photo.
    for seam, pad in ((top_px, top_px), (top_px + height, bottom_px)):
        if pad:
            band = (0, max(0, seam - 10), width, min(canvas.height, seam + 10))
            canvas.paste(canvas.crop(band).filter(ImageFilter.GaussianBlur(4)), band[:2])
    return canvas


def portrait_frame(source: Image.Image, variation: Variation, long_edge: int) -> Image.Image:
    (left, top, right, bottom), ev = variation
    width, height = source.size
    window = source.crop((round(left * width), round(top * height),
                          round(right * width), round(bottom * height)))
    scale = long_edge / max(window.size)
    size = (round(window.width * scale), round(window.height * scale))
    return exposure(window.resize(size, Image.Resampling.LANCZOS), ev)


def backdrop(size: tuple[int, int]) -> Image.Image:
    """A grey-blue studio backdrop, lighter in the middle, as behind a booth."""
    width, height = size
    small = Image.new("RGB", (64, 64))
    for y in range(64):
        for x in range(64):
            distance = ((x - 32) ** 2 + (y - 26) ** 2) ** 0.5 / 45
            light = max(0.0, 1.0 - distance)
            small.putpixel((x, y), (round(92 + 70 * light), round(104 + 72 * light), round(120 + 70 * light)))
    return small.resize((width, height), Image.Resampling.BICUBIC)


def slate_frame(card_png: Path, size: tuple[int, int], tilt_degrees: float) -> Image.Image:
    """The printed card held up before the camera: tilted, shadowed, a little soft."""
    frame = backdrop(size)
    card = Image.open(card_png).convert("RGB")
    # Paper is never pure white under booth light.
    card = ImageChops.multiply(card, Image.new("RGB", card.size, (238, 236, 230)))
    card_width = round(size[0] * 0.62)
    card = card.resize((card_width, round(card.height * card_width / card.width)), Image.Resampling.LANCZOS)
    mask = Image.new("L", card.size, 255)
    card = card.rotate(tilt_degrees, resample=Image.Resampling.BICUBIC, expand=True)
    mask = mask.rotate(tilt_degrees, resample=Image.Resampling.BICUBIC, expand=True)
    left = (size[0] - card.width) // 2
    top = round(size[1] * 0.10)
    shadow = Image.new("RGB", size, (0, 0, 0))
    shadow_mask = Image.new("L", size, 0)
    shadow_mask.paste(mask.point(lambda v: v * 90 // 255), (left + 18, top + 24))
    frame.paste(shadow, (0, 0), shadow_mask.filter(ImageFilter.GaussianBlur(14)))
    frame.paste(card, (left, top), mask)
    return frame.filter(ImageFilter.GaussianBlur(1.2))


def exif_for(clock: str, subsec: str) -> Image.Exif:
    exif = Image.Exif()
    exif[TAG_MAKE], exif[TAG_MODEL] = CAMERA
    exif[TAG_ORIENTATION] = 1
    exif[TAG_SOFTWARE] = "headshot sample-images/make_shoot.py"
    exif_ifd = exif.get_ifd(IFD_EXIF)
    exif_ifd[TAG_DATETIME_ORIGINAL] = f"{DATE} {clock}"
    exif_ifd[TAG_SUBSEC_TIME_ORIGINAL] = subsec
    exif_ifd[TAG_OFFSET_TIME_ORIGINAL] = OFFSET
    return exif


def clock_plus(clock: str, seconds: int) -> str:
    hours, minutes, secs = (int(part) for part in clock.split(":"))
    total = hours * 3600 + minutes * 60 + secs + seconds
    return f"{total // 3600:02}:{total // 60 % 60:02}:{total % 60:02}"


def make_cards(headshot: list[str], roster: Path, scratch: Path) -> dict[str, Path]:
    """`headshot slates` cards by roster id (file names start with the id's slug)."""
    cards = scratch / "cards"
    subprocess.run([*headshot, "slates", "--roster", str(roster), "--out", str(cards)], check=True)
    by_id = {}
    for line in ROSTER.splitlines()[1:]:
        person_id = line.split(",")[0]
        matches = sorted(cards.glob(f"{person_id.lower()}-*.png"))
        if len(matches) != 1:
            sys.exit(f"expected one card for {person_id} in {cards}, found {matches}")
        by_id[person_id] = matches[0]
    return by_id


def check_slates(headshot: list[str], out: Path, slates: dict[str, str]) -> None:
    """Every slate frame must read with headshot's own QR reader as its roster id."""
    files = [str(out / name) for name in slates]
    result = subprocess.run(
        [*headshot, "inspect", "--json", "--no-faces", "--slates", "--roster", str(out / "roster.csv"),
         "--shoot", str(out), *files],
        check=True, capture_output=True, text=True)
    inspections = json.loads(result.stdout)
    for (name, person_id), inspection in zip(slates.items(), inspections):
        naming = inspection.get("naming") or {}
        person = naming.get("person") or {}
        if naming.get("role") != "slate" or person.get("id") != person_id:
            sys.exit(f"{name}: the slate for {person_id} does not read: {naming}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headshot", default=os.environ.get("HEADSHOT", "target/release/headshot"),
                        help="the headshot binary (default: $HEADSHOT or target/release/headshot)")
    parser.add_argument("--skimage-wheel", type=Path, help="scikit-image 0.26.0 wheel")
    parser.add_argument("--matplotlib-wheel", type=Path, help="matplotlib 3.11.2 wheel")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: here)")
    args = parser.parse_args()
    headshot = [args.headshot]
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("IMG_*.jpg"):
        old.unlink()
    (out / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (out / "headshot.toml").write_text(SHOOT_FILE, encoding="utf-8")

    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        wheels = {
            "scikit-image": args.skimage_wheel or fetch_wheel("scikit-image", "0.26.0", scratch),
            "matplotlib": args.matplotlib_wheel or fetch_wheel("matplotlib", "3.11.2", scratch),
        }
        sources = {}
        for key, (package, _version, member, digest) in SOURCES.items():
            print(f"from {wheels[package].name}:")
            sources[key] = read_source(wheels[package], member, digest)
        cards = make_cards(headshot, out / "roster.csv", scratch)

        backdrop(SLATE_SIZE).save(out / "IMG_0101.jpg", quality=JPEG_QUALITY, optimize=True,
                                  exif=exif_for(LIGHT_TEST_CLOCK, "000"))
        number = 102
        slates = {}
        for index, (person_id, source_key, clock, long_edge, headroom, variations) in enumerate(PEOPLE):
            source = with_headroom(sources[source_key], *headroom)
            frames = [portrait_frame(source, variation, long_edge) for variation in variations]
            slate = slate_frame(cards[person_id], SLATE_SIZE, tilt_degrees=(-3.0, 4.0)[index % 2])
            shots = [(slate, 0)] + [(frame, 12 + 4 * n) for n, frame in enumerate(frames)]
            for shot_index, (image, seconds) in enumerate(shots):
                name = f"IMG_{number:04}.jpg"
                image.save(out / name, quality=JPEG_QUALITY, optimize=True,
                           exif=exif_for(clock_plus(clock, seconds), f"{100 + 37 * shot_index:03}"))
                if shot_index == 0:
                    slates[name] = person_id
                number += 1
        check_slates(headshot, out, slates)

    total = 0
    for path in sorted(out.glob("IMG_*.jpg")):
        with Image.open(path) as image:
            print(f"{path.name:16} {image.size[0]}x{image.size[1]}  {path.stat().st_size:>8} bytes")
        total += path.stat().st_size
    print(f"total {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
