"""The markings banner: the highest classification on a page, colour-coded, top and bottom.

Colours pass WCAG 2.x AA for normal text (contrast of at least 4.5:1; tests check the ratios).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.markings import Classification

# level: (background, text) - the same values as .banner-* in static/web/web.css
PALETTE: dict[Classification, tuple[str, str]] = {
    Classification.OFFICIAL: ("#00703c", "#ffffff"),
    Classification.RESTRICTED: ("#1d4f91", "#ffffff"),
    Classification.CONFIDENTIAL: ("#ffbf47", "#0b0c0c"),
    Classification.SECRET: ("#a4161a", "#ffffff"),
}


@dataclass(frozen=True)
class Banner:
    level: Classification
    text: str

    @property
    def css(self) -> str:
        return f"banner-{self.level.name.lower()}"


def highest(levels: Iterable[int]) -> Classification | None:
    found = [int(level) for level in levels]
    return Classification(max(found)) if found else None


def banner_for(level: int | Classification | None, caveats: str = "") -> Banner | None:
    if level is None:
        return None
    classification = Classification(int(level))
    return Banner(classification, caveats or classification.name)


def page_banner(levels: Iterable[int]) -> Banner | None:
    """Banner for a page listing several items: the highest level among them."""
    level = highest(levels)
    if level is None:
        return None
    return Banner(level, f"{level.name} (highest classification on this page)")


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
