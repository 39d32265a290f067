"""A fake camera for Chromium: a QR code written into a short Y4M video.

Chromium plays the file in a loop as the webcam when launched with
`--use-fake-device-for-media-stream --use-fake-ui-for-media-stream
--use-file-for-fake-video-capture=<file>.y4m`, so the kiosk's real scanner (getUserMedia, then
BarcodeDetector or the vendored jsQR) reads a real QR image.
"""
from __future__ import annotations

from pathlib import Path

import qrcode
from PIL import Image, ImageDraw

WIDTH, HEIGHT = 640, 480

CHROMIUM_FLAGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def card_frame(payload: str, width: int = WIDTH, height: int = HEIGHT) -> Image.Image:
    """A volunteer's QR card held up in front of a grey wall."""
    code = qrcode.make(payload, box_size=10, border=4).get_image().convert("RGB")
    side = int(min(width, height) * 0.72)
    code = code.resize((side, side), Image.NEAREST)
    frame = Image.new("RGB", (width, height), (128, 134, 140))
    card = Image.new("RGB", (side + 40, side + 40), (250, 250, 247))
    ImageDraw.Draw(card).rectangle([0, 0, side + 39, side + 39], outline=(15, 118, 110), width=6)
    card.paste(code, (20, 20))
    frame.paste(card, ((width - card.width) // 2, (height - card.height) // 2))
    return frame


def write_y4m(frame: Image.Image, path: Path, frames: int = 20) -> Path:
    """`frames` copies of one picture as Y4M 4:2:0 (header `C420jpeg`: chroma halved both ways)."""
    width, height = frame.size
    y, cb, cr = frame.convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + cb.resize(half, Image.BILINEAR).tobytes() + cr.resize(half, Image.BILINEAR).tobytes()
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n")
            out.write(planes)
    return path


def qr_camera_file(payload: str, directory: Path, frames: int = 20) -> Path:
    """A Y4M file showing a QR of `payload`, ready for --use-file-for-fake-video-capture."""
    return write_y4m(card_frame(payload), Path(directory) / "qr-card.y4m", frames)


def chromium_args(video: Path) -> list[str]:
    return [*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={video}"]
