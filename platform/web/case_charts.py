"""SVG geometry for the case screens, computed on the server: the score's contributions as a
small stacked bar, a case's shipment routes as a country-to-country diagram, and its timeline.

Each object carries the text the template puts in `<title>` elements and tables, so nothing
here is shown by colour or position alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import pairwise

import pycountry
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .triage import ExplanationLine

RAISES = "#b8400a"  # contrast 5.6:1 on white (vermillion, told apart from blue in CVD)
LOWERS = "#0072b2"  # contrast 5.2:1 on white
INK = "#0b0c0c"
MUTED = "#3c4245"
TRACK = "#f3f2f1"
EDGE = "#1d4f91"


def country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    return str(found.name) if found else code.upper()


# --------------------------------------------------------------------------------------------
# Contribution bar (triage queue)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass
class ContributionBar:
    """Baseline, then the positive contributions stacked rightwards on the top lane and the
    negative ones leftwards on the bottom lane, ending at the score (0-100 across)."""

    width: int
    height: int
    segments: list[Segment] = field(default_factory=list)
    baseline_x: float = 0.0
    score_x: float = 0.0
    text: str = ""
    caption: str = ""  # the two largest groups, shown under the bar

    def svg(self) -> SafeString:
        """The bar as inline SVG, written here rather than in a template: a queue page draws
        25 of them, and template variables and format_html were most of the page's time.
        Every text is escaped; every number is formatted here."""
        w, h, text = self.width, self.height, escape(self.text)
        parts = [
            f'<svg class="contrib-bar" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
            f'role="img" aria-label="{text}" focusable="false"><title>{text}</title>'
            f'<rect x="0" y="0" width="{w}" height="{h}" fill="{TRACK}"/>'
            f'<line x1="{_n(self.baseline_x)}" x2="{_n(self.baseline_x)}" y1="0" y2="{h}" '
            f'stroke="{MUTED}" stroke-width="1" stroke-dasharray="2 1"/>'
        ]
        parts.extend(
            f'<rect x="{_n(s.x)}" y="{_n(s.y)}" width="{_n(s.width)}" height="{_n(s.height)}" '
            f'fill="{s.fill}" stroke="#ffffff" stroke-width="0.6" data-segment>'
            f"<title>{escape(s.title)}</title></rect>"
            for s in self.segments
        )
        parts.append(
            f'<line x1="{_n(self.score_x)}" x2="{_n(self.score_x)}" y1="0" y2="{h}" '
            f'stroke="{INK}" stroke-width="2"/></svg>'
        )
        return mark_safe("".join(parts))  # noqa: S308 - texts escaped above, numbers ours


def _n(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


#: One colour per feature group (Okabe-Ito, readable in the common colour-vision deficiencies);
#: the category-specific groups share one, a case having one category. Also in web.css.
GROUP_COLOURS: dict[str, str] = {
    "category": "#8c8c8c",
    "screening": "#d55e00",
    "geography": "#e69f00",
    "item": "#0072b2",
    "red_flags": "#cc79a7",
    "network": "#009e73",
    "source": "#56b4e9",
    "military_ai": "#882255",
    "cloud_compute": "#882255",
    "model_weights": "#882255",
    "ai_incident": "#882255",
}


def _group_totals(lines: Sequence[ExplanationLine]) -> list[tuple[str, str, int, int]]:
    """(group, label, raising hundredths, lowering hundredths) per group, catalogue order."""
    totals: dict[str, list[int]] = {}
    labels: dict[str, str] = {}
    for line in lines:
        up_down = totals.setdefault(line.group, [0, 0])
        labels[line.group] = line.group_label
        units = line.hundredths if line.hundredths else round(line.points * 100)
        up_down[0 if units > 0 else 1] += units
    return [(g, labels[g], up, down) for g, (up, down) in totals.items()]


def _signed_text(hundredths: int) -> str:
    return f"{'+' if hundredths >= 0 else '−'}{abs(hundredths) / 100:.2f}"


def contribution_bar(
    score: float, baseline: float, lines: Sequence[ExplanationLine], width: int = 160
) -> ContributionBar:
    """Stacked bar of the score by feature group: raising groups on the top lane, lowering
    groups on the bottom lane, each in its group's colour and named in its title and text."""
    height, pad, lane = 20, 1.0, 7.0
    span = width - 2 * pad

    def x(points: float) -> float:
        return round(pad + span * min(max(points, 0.0), 100.0) / 100.0, 2)

    bar = ContributionBar(width=width, height=height)
    bar.baseline_x, bar.score_x = x(baseline), x(score)
    groups = _group_totals(lines)
    level = baseline
    for group, label, up, _down in groups:
        if up > 0:
            left, level = x(level), level + up / 100
            colour = GROUP_COLOURS.get(group, RAISES)
            title = f"{_signed_text(up)} {label}"
            bar.segments.append(Segment(left, 2, max(x(level) - left, 0.5), lane, colour, title))
    for group, label, _up, down in groups:
        if down < 0:
            right, level = x(level), level + down / 100
            colour = GROUP_COLOURS.get(group, LOWERS)
            title = f"{_signed_text(down)} {label}"
            bar.segments.append(
                Segment(
                    x(level), height - 2 - lane, max(right - x(level), 0.5), lane, colour, title
                )
            )
    parts = [
        f"{_signed_text(v)} {label}" for _g, label, up, down in groups for v in (up, down) if v
    ]
    bar.text = f"Score {score:.1f} of 100: baseline {baseline:.2f}, " + ", ".join(parts) + "."
    largest = sorted(
        ((up + down, label) for _g, label, up, down in groups), key=lambda t: -abs(t[0])
    )
    bar.caption = " · ".join(f"{label} {_signed_text(v)}" for v, label in largest[:2] if v)
    return bar


# --------------------------------------------------------------------------------------------
# Route diagram (case view)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteNode:
    code: str
    name: str
    x: float
    y: float
    width: float
    height: float
    reports: int

    @property
    def label_x(self) -> float:
        return round(self.x + self.width / 2, 1)

    @property
    def label_y(self) -> float:
        return round(self.y + self.height / 2 + 5, 1)


@dataclass(frozen=True)
class RouteEdge:
    source: str
    target: str
    weight: int
    path: str
    stroke_width: float
    label_x: float
    label_y: float
    title: str


@dataclass
class RouteDiagram:
    width: int
    height: int
    nodes: list[RouteNode] = field(default_factory=list)
    edges: list[RouteEdge] = field(default_factory=list)
    legs: list[tuple[str, int]] = field(default_factory=list)  # "US → SG", reports naming it
    routes: int = 0


def route_legs(routes: Iterable[Sequence[str]]) -> Counter[tuple[str, str]]:
    """Legs (a, b) counted once per report that names them."""
    legs: Counter[tuple[str, str]] = Counter()
    for route in routes:
        seen = {(a, b) for a, b in pairwise(route) if a != b}
        legs.update(seen)
    return legs


def _layers(routes: Sequence[Sequence[str]], legs: Counter[tuple[str, str]]) -> dict[str, int]:
    """A column per country: the longest chain of legs leading to it, once the legs that
    close a loop (back to a country already on the way) are set aside."""
    places: dict[str, list[int]] = {}
    for route in routes:
        for index, code in enumerate(route):
            places.setdefault(code, []).append(index)
    first_seen = {code: sum(found) / len(found) for code, found in places.items()}
    after: dict[str, list[str]] = {code: [] for code in first_seen}
    for (a, b), _ in sorted(legs.items(), key=lambda item: (-item[1], item[0])):
        after[a].append(b)
    # countries that come early on average are walked from first
    order = sorted(first_seen, key=lambda c: (first_seen[c], c))
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    kept: dict[str, list[str]] = {code: [] for code in first_seen}
    finished: list[str] = []
    for start in order:
        if start in state:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            code, index = stack.pop()
            if index < len(after[code]):
                stack.append((code, index + 1))
                nxt = after[code][index]
                if nxt not in state:
                    kept[code].append(nxt)
                    state[nxt] = 1
                    stack.append((nxt, 0))
                elif state[nxt] == 2:
                    kept[code].append(nxt)
                # state 1: a leg back to a country on the current path closes a loop
            else:
                state[code] = 2
                finished.append(code)
    layer = dict.fromkeys(first_seen, 0)
    for code in reversed(finished):  # reverse post-order: a topological order of kept legs
        for nxt in kept[code]:
            layer[nxt] = max(layer[nxt], layer[code] + 1)
    return layer


def route_diagram(routes: Sequence[Sequence[str]]) -> RouteDiagram:
    clean = [[str(c).upper() for c in route if str(c).strip()] for route in routes]
    clean = [route for route in clean if len(route) >= 2]
    legs = route_legs(clean)
    if not legs:
        return RouteDiagram(width=0, height=0, routes=len(clean))
    column_of = _layers(clean, legs)
    mentions: Counter[str] = Counter()
    for route in clean:
        mentions.update(set(route))
    by_column: dict[int, list[str]] = {}
    for code in column_of:
        by_column.setdefault(column_of[code], []).append(code)
    columns = sorted(by_column)
    box_w, box_h, gap_x, gap_y, margin = 64.0, 30.0, 84.0, 26.0, 14.0
    forward = {leg for leg in legs if column_of[leg[1]] > column_of[leg[0]]}
    skips = any(column_of[b] - column_of[a] > 1 for a, b in forward)
    backs = len(legs) > len(forward)
    top_pad = margin + (box_h if skips else 0)
    tallest = max(len(codes) for codes in by_column.values())
    block_h = tallest * box_h + (tallest - 1) * gap_y
    bottom = top_pad + block_h
    height = int(bottom + margin + (box_h + gap_y if backs else 0))
    width = int(margin * 2 + len(columns) * box_w + (len(columns) - 1) * gap_x)
    diagram = RouteDiagram(width=width, height=height, routes=len(clean))
    place: dict[str, RouteNode] = {}
    for column in columns:
        # each country near the countries it comes from (their mean height), then by use
        def order(code: str) -> tuple[float, int, str]:
            before = [place[a].y for a, b in forward if b == code and a in place]
            return (sum(before) / len(before) if before else 0.0, -mentions[code], code)

        codes = sorted(by_column[column], key=order)
        block = len(codes) * box_h + (len(codes) - 1) * gap_y
        first_y = top_pad + (block_h - block) / 2
        for row, code in enumerate(codes):
            node = RouteNode(
                code=code,
                name=country_name(code),
                x=round(margin + column * (box_w + gap_x), 1),
                y=round(first_y + row * (box_h + gap_y), 1),
                width=box_w,
                height=box_h,
                reports=mentions[code],
            )
            place[code] = node
            diagram.nodes.append(node)
    heaviest = max(legs.values())
    for (a, b), weight in sorted(legs.items(), key=lambda item: (-item[1], item[0])):
        source, target = place[a], place[b]
        stroke = round(1.5 + 4.5 * weight / heaviest, 1) if heaviest > 1 else 2.0
        if (a, b) in forward:
            x1, y1 = source.x + box_w, source.y + box_h / 2
            x2, y2 = target.x - 1, target.y + box_h / 2
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            if column_of[b] - column_of[a] > 1:  # arc over the columns in between
                cy = 2 * (top_pad - box_h / 2) - (y1 + y2) / 2
        else:  # a leg back (or within a column): an arc below the boxes
            x1, y1 = source.x + box_w / 2 + 8, source.y + box_h
            x2, y2 = target.x + box_w / 2 - 8, target.y + box_h + 1
            cx, cy = (x1 + x2) / 2, 2 * (bottom + (box_h + gap_y) / 2) - (y1 + y2) / 2
        path = f"M{x1:.1f},{y1:.1f} Q{cx:.1f},{cy:.1f} {x2:.1f},{y2:.1f}"
        noun = "report" if weight == 1 else "reports"
        diagram.edges.append(
            RouteEdge(
                source=a,
                target=b,
                weight=weight,
                path=path,
                stroke_width=stroke,
                label_x=round(0.25 * x1 + 0.5 * cx + 0.25 * x2, 1),
                label_y=round(0.25 * y1 + 0.5 * cy + 0.25 * y2 - 5, 1),
                title=f"{country_name(a)} to {country_name(b)}: named by {weight} {noun}",
            )
        )
        diagram.legs.append((f"{a} → {b}", weight))
    return diagram


# --------------------------------------------------------------------------------------------
# Timeline (case view)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    label: str
    event_start: date | None
    event_end: date | None
    received: datetime | None
    received_label: str  # "received", "filed here"


@dataclass(frozen=True)
class TimelineRow:
    label: str
    y: float
    span: Segment | None
    mark_x: float | None
    mark_title: str

    @property
    def text_y(self) -> float:
        return self.y + 16

    @property
    def mark_y(self) -> float:
        return self.y + 12


@dataclass
class Timeline:
    width: int
    height: int
    rows: list[TimelineRow] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    plot_left: int = 0
    plot_right: int = 0
    axis_y: float = 0.0

    @property
    def label_x(self) -> int:
        return self.plot_left - 8

    @property
    def tick_y(self) -> float:
        return self.axis_y + 16


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


_FIRST_DAY, _LAST_DAY = date.min.toordinal(), date.max.toordinal()


def timeline(entries: Sequence[TimelineEntry], width: int = 760) -> Timeline:
    days: list[date] = []
    for entry in entries:
        days += [d for d in (entry.event_start, entry.event_end) if d]
        if entry.received:
            days.append(_day(entry.received))
    if not days:
        return Timeline(width=0, height=0)
    # Day numbers, not dates: a padded axis around 0001-01-01 or 9999-12-31 (old data, or a
    # partner's) would step outside what `date` can hold and fail the whole page.
    first = min(days).toordinal()
    last = max(days).toordinal()
    pad = max((last - first) // 20, 3)
    first, last = first - pad, last + pad
    total = max(last - first, 1)
    left, right, row_h, top = 200, width - 40, 26, 8
    height = top + row_h * len(entries) + 34
    chart = Timeline(width=width, height=height, plot_left=left, plot_right=right)

    def x(day: date) -> float:
        return round(left + (right - left) * (day.toordinal() - first) / total, 1)

    for index, entry in enumerate(entries):
        y = top + index * row_h
        span = None
        start = entry.event_start or entry.event_end
        if start:
            end = entry.event_end or start
            text = f"event {start.isoformat()}" + (f" to {end.isoformat()}" if end != start else "")
            span = Segment(x(start), y + 7, max(x(end) - x(start), 4.0), 10, EDGE, text)
        mark_x = x(_day(entry.received)) if entry.received else None
        mark = f"{entry.received_label} {entry.received:%Y-%m-%d %H:%M}" if entry.received else ""
        chart.rows.append(TimelineRow(entry.label, y, span, mark_x, mark))
    chart.axis_y = top + row_h * len(entries) + 4
    steps = 5
    for step in range(steps + 1):
        ordinal = first + round(total * step / steps)
        day = date.fromordinal(min(max(ordinal, _FIRST_DAY), _LAST_DAY))
        chart.ticks.append((x(day), day.isoformat()))
    return chart
