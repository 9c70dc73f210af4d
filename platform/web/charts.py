"""Charts drawn on the server as SVG, from the reports (and the scored cases) the user may see
and nothing else.

Each chart is a small geometry object the template turns into `<svg>` (with a `<title>` per bar
for screen readers and tooltips) plus the same numbers as a table.
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, F, Max, QuerySet
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone

from cases.selectors import highest_visible_level, score_histograms_by_category
from core.nodes import NODE_DIRECTORY
from reports.models import Category, Report, ReportVersion, Status
from reports.selectors import visible_reports

# Okabe-Ito: told apart with the common colour-vision deficiencies.
CATEGORY_COLOURS = {
    Category.CHIP_DIVERSION.value: "#0072b2",
    Category.MILITARY_AI.value: "#d55e00",
    Category.CLOUD_COMPUTE.value: "#009e73",
    Category.MODEL_WEIGHTS.value: "#cc79a7",
    Category.AI_INCIDENT.value: "#e69f00",
    Category.OTHER.value: "#56b4e9",
}
BAR_COLOUR = "#1d4f91"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str
    href: str = ""  # the filtered list the bar counts, when there is one


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    label: str


@dataclass
class StackedColumns:
    """Columns per month, stacked by category."""

    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    table: list[tuple[str, dict[str, int], int]] = field(default_factory=list)
    categories: list[tuple[str, str]] = field(default_factory=list)
    total: int = 0
    undated: int = 0  # reports with no event date, which no month can show
    plot_left: int = 40
    plot_bottom: int = 0


@dataclass
class HorizontalBars:
    width: int
    height: int
    rows: list[tuple[Tick, Rect, Tick]] = field(default_factory=list)  # label, bar, value
    total: int = 0


@dataclass
class Histogram:
    """Cases per score band (0-100 points), one column per band."""

    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    table: list[tuple[str, int]] = field(default_factory=list)
    total: int = 0
    plot_left: int = 40
    plot_bottom: int = 0
    label: str = ""  # the category, for one of the per-category histograms
    key: str = ""


@dataclass
class Charts:
    over_time: StackedColumns
    by_origin: HorizontalBars
    routes: HorizontalBars
    risk: Histogram
    risk_by_category: list[Histogram]
    levels: list[int]  # classifications of the reports and cases counted (for the banner)
    counted: int

    @property
    def risk_category_rows(self) -> list[tuple[str, list[int]]]:
        """The per-category histograms as one table: a score band per row, a category per
        column."""
        return [
            (band, [chart.table[row][1] for chart in self.risk_by_category])
            for row, (band, _) in enumerate(self.risk.table)
        ]


def _months_back(today: date, months: int) -> list[date]:
    year, month = today.year, today.month
    out = []
    for _ in range(months):
        out.append(date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(out))


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value


def charted_reports(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Report]:
    """What the charts count: reports the user may see, withdrawn ones left out."""
    return visible_reports(user).exclude(status=Status.WITHDRAWN)


def _month_list_url(category: str, month: date) -> str:
    """The report list filtered to one category and one month of events."""
    last = date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])
    query = {"category": category, "event_from": month.isoformat(), "event_to": last.isoformat()}
    return f"{reverse('web:reports')}?{urlencode(query)}"


def over_time(reports: QuerySet[Report], months: int) -> StackedColumns:
    """Reports per month of their events (the month the events start), stacked by category.
    Filing dates would put every bulk-imported or demo report in one month."""
    today = timezone.localdate()
    axis = _months_back(today, months)
    rows = (
        reports.filter(event_start__gte=axis[0], event_start__lte=today)
        .annotate(month=TruncMonth("event_start"))
        .values("month", "category")
        .annotate(n=Count("id"))
    )
    cells: dict[tuple[date, str], int] = {}
    for row in rows:
        month = row["month"]
        key = month.date() if hasattr(month, "date") else month
        cells[(key, row["category"])] = row["n"]
    width, height, left, bottom, top = 720, 280, 44, 40, 12
    plot_w, plot_h = width - left - 10, height - bottom - top
    totals = [sum(cells.get((m, c), 0) for c in CATEGORY_COLOURS) for m in axis]
    scale_max = _nice_max(max(totals, default=0) or 1)
    chart = StackedColumns(width=width, height=height, plot_left=left, plot_bottom=height - bottom)
    slot = plot_w / len(axis)
    bar_w = slot * 0.7
    labels = dict(Category.choices)
    for index, month in enumerate(axis):
        x = left + index * slot + (slot - bar_w) / 2
        y = float(height - bottom)
        counts: dict[str, int] = {}
        for category, colour in CATEGORY_COLOURS.items():
            n = cells.get((month, category), 0)
            counts[category] = n
            if n:
                h = plot_h * n / scale_max
                y -= h
                chart.rects.append(
                    Rect(
                        round(x, 1),
                        round(y, 1),
                        round(bar_w, 1),
                        round(h, 1),
                        colour,
                        f"{month:%b %Y}: {n} {labels[category]}",
                        _month_list_url(category, month),
                    )
                )
        label = f"{month:%b}" if month.month != 1 and index else f"{month:%b %y}"
        chart.x_ticks.append(Tick(round(x + bar_w / 2, 1), height - bottom + 16, label))
        chart.table.append((f"{month:%b %Y}", counts, totals[index]))
    for step in range(5):
        value = scale_max * step // 4
        chart.y_ticks.append(
            Tick(left - 6, round(height - bottom - plot_h * step / 4, 1), str(value))
        )
    chart.legend = [(labels[c], colour) for c, colour in CATEGORY_COLOURS.items()]
    chart.categories = [(c, labels[c]) for c in CATEGORY_COLOURS]
    chart.total = sum(totals)
    chart.undated = reports.filter(event_start__isnull=True).count()
    return chart


def horizontal(pairs: list[tuple[str, int]], width: int = 520) -> HorizontalBars:
    row_h, label_w = 28, 150
    chart = HorizontalBars(width=width, height=max(row_h * len(pairs) + 8, 40))
    biggest = max((n for _, n in pairs), default=0) or 1
    plot_w = width - label_w - 50
    for index, (label, n) in enumerate(pairs):
        y = 4 + index * row_h
        w = max(plot_w * n / biggest, 2.0)
        chart.rows.append(
            (
                Tick(label_w - 8, y + 18, label),
                Rect(label_w, y + 4, round(w, 1), row_h - 8, BAR_COLOUR, f"{label}: {n}"),
                Tick(round(label_w + w + 6, 1), y + 18, str(n)),
            )
        )
    chart.total = sum(n for _, n in pairs)
    return chart


def by_origin(reports: QuerySet[Report]) -> HorizontalBars:
    rows = reports.values("origin").annotate(n=Count("id")).order_by("-n", "origin")
    pairs = []
    for row in rows:
        known = NODE_DIRECTORY.get(row["origin"])
        name = f"{row['origin'].upper()} – {known.name}" if known else row["origin"].upper()
        pairs.append((name, row["n"]))
    return horizontal(pairs)


def route_legs(reports: QuerySet[Report], top: int = 10) -> list[tuple[str, int]]:
    """Country-to-country legs of the routes in the current versions of chip-diversion
    reports, most frequent first (a report counts once per leg)."""
    versions = ReportVersion.objects.filter(
        report__in=reports.filter(category=Category.CHIP_DIVERSION),
        version=F("report__current_version"),
    ).values_list("details__route", flat=True)
    legs: Counter[str] = Counter()
    for route in versions:
        if not isinstance(route, list):
            continue
        seen = set()
        for a, b in pairwise(route):
            leg = f"{a} → {b}"
            if leg not in seen:
                seen.add(leg)
                legs[leg] += 1
    return sorted(legs.items(), key=lambda item: (-item[1], item[0]))[:top]


def _band_queue_url(category: str, low: int, high: int) -> str:
    """The triage queue filtered to one score band (and one category, when given)."""
    query: dict[str, str | int] = {"category": category} if category else {}
    query["min_score"] = low
    if high < 100:  # the last band holds 100 itself
        query["max_score"] = high
    return f"{reverse('web:cases')}?{urlencode(query)}"


def risk_histogram(
    counts: list[int],
    *,
    category: str = "",
    size: tuple[int, int] = (560, 260),
    colour: str = BAR_COLOUR,
) -> Histogram:
    """Columns of visible cases per score band, each a link to those cases in the queue."""
    width, height = size
    left, bottom, top = 48, 44, 12
    plot_w, plot_h = width - left - 10, height - bottom - top
    chart = Histogram(width=width, height=height, plot_left=left, plot_bottom=height - bottom)
    scale_max = _nice_max(max(counts, default=0) or 1)
    bands = len(counts)
    slot = plot_w / bands if bands else plot_w
    step = 100 / bands if bands else 100
    for index, n in enumerate(counts):
        low, high = round(index * step), round((index + 1) * step)
        label = f"{low}–{high}"
        x = left + index * slot
        h = plot_h * n / scale_max
        noun = "case" if n == 1 else "cases"
        if n:
            chart.rects.append(
                Rect(
                    round(x + 1, 1),
                    round(height - bottom - h, 1),
                    round(slot - 2, 1),
                    round(h, 1),
                    colour,
                    f"score {label}: {n} {noun}",
                    _band_queue_url(category, low, high),
                )
            )
        chart.table.append((label, n))
        if not index % 2 or width >= 400:
            chart.x_ticks.append(Tick(round(x, 1), height - bottom + 16, str(low)))
    chart.x_ticks.append(Tick(round(left + bands * slot, 1), height - bottom + 16, "100"))
    for tick in range(5):
        value = scale_max * tick // 4
        chart.y_ticks.append(
            Tick(left - 6, round(height - bottom - plot_h * tick / 4, 1), str(value))
        )
    chart.total = sum(counts)
    return chart


def risk_by_category(per_category: dict[str, list[int]]) -> list[Histogram]:
    """One small histogram per category with visible cases, in the legend's order: a category
    whose scores all sat on one value would show as a single column."""
    labels = {**dict(Category.choices), "mixed": "Mixed categories", "": "Not yet described"}
    order = [*CATEGORY_COLOURS, "mixed", ""]
    charts = []
    for key in sorted(per_category, key=lambda k: order.index(k) if k in order else len(order)):
        chart = risk_histogram(
            per_category[key],
            category=key,
            size=(340, 180),
            colour=CATEGORY_COLOURS.get(key, BAR_COLOUR),
        )
        chart.label, chart.key = labels.get(key, key), key
        charts.append(chart)
    return charts


def build_charts(user: AbstractBaseUser | AnonymousUser, months: int = 12) -> Charts:
    reports = charted_reports(user)
    levels = [] if not reports.exists() else [int(reports.aggregate(m=Max("classification"))["m"])]
    case_level = highest_visible_level(user)
    if case_level is not None:
        levels.append(int(case_level))
    per_category = score_histograms_by_category(user)
    overall = [sum(column) for column in zip(*per_category.values(), strict=True)] or [0] * 10
    return Charts(
        over_time=over_time(reports, months),
        by_origin=by_origin(reports),
        routes=horizontal(route_legs(reports)),
        risk=risk_histogram(overall),
        risk_by_category=risk_by_category(per_category),
        levels=levels,
        counted=reports.count(),
    )
