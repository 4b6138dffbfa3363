"""The rough edits of issue 20 on BGR uint8 images (numpy/OpenCV), for tests: square and 10 % crops, a turned
copy cut to its corners, a caption band, a logo box and a screenshot inside a grey window."""

from __future__ import annotations

import math

import cv2
import numpy as np


def square(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    side = min(h, w)
    return image[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]


def crop(image: np.ndarray, share: float = 0.10) -> np.ndarray:
    h, w = image.shape[:2]
    dy, dx = round(h * share), round(w * share)
    return image[dy:h - dy, dx:w - dx]


def turned(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape[:2]
    c, s = math.cos(math.radians(abs(degrees))), math.sin(math.radians(abs(degrees)))
    scale = min(w / (w * c + h * s), h / (w * s + h * c))
    out = cv2.warpAffine(image, cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0), (w, h))
    ch, cw = int(h * scale) - 2, int(w * scale) - 2
    return out[(h - ch) // 2:(h - ch) // 2 + ch, (w - cw) // 2:(w - cw) // 2 + cw]


def caption(image: np.ndarray, text: str = "same caption on every photo") -> np.ndarray:
    out = image.copy()
    h, w = out.shape[:2]
    band = round(h * 0.14)
    out[h - band:] = 0
    cv2.putText(out, text, (w // 20, h - band // 3), cv2.FONT_HERSHEY_SIMPLEX, band / 60, (255, 255, 255), 2)
    return out


def logo(image: np.ndarray, area: float = 0.034) -> np.ndarray:
    out = image.copy()
    h, w = out.shape[:2]
    side, margin = round(math.sqrt(area * h * w)), min(h, w) // 50
    out[margin:margin + side, w - margin - side:w - margin] = (40, 20, 200)
    cv2.putText(out, "TV1", (w - margin - side + side // 8, margin + side * 2 // 3), cv2.FONT_HERSHEY_SIMPLEX,
                side / 70, (255, 255, 255), 2)
    return out


def screenshot(image: np.ndarray, share: float = 0.70) -> np.ndarray:
    """`image` at `share` of a grey window's width, below a dark title bar with three buttons."""
    h, w = image.shape[:2]
    win_w = round(w / share)
    bar, margin = max(12, win_w // 40), round((win_w - w) / 2)
    window = np.full((h + bar + 2 * margin, win_w, 3), 200, np.uint8)
    window[:bar] = 60
    for i, colour in enumerate(((94, 106, 237), (79, 191, 245), (84, 197, 98))):
        cv2.circle(window, (bar // 2 + i * bar, bar // 2), bar // 4, colour, -1)
    window[bar + margin:bar + margin + h, margin:margin + w] = image
    return window
