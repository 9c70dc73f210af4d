"""Security markings and the rules that make a combination valid. Plain Python, no Django.

A marking is a classification on a common ordered scale, a REL TO list (node codes and groups), an
originator-control flag (ORCON) and a TLP 2.0 colour. The same rules run on the analyst API, in the
federation inbox and in the web forms, so a marking refused in one place is refused everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from .nodes import NODE_DIRECTORY, NodeDirectory


class Classification(IntEnum):
    OFFICIAL = 1
    RESTRICTED = 2
    CONFIDENTIAL = 3
    SECRET = 4

    @classmethod
    def parse(cls, value: str) -> Classification:
        try:
            return cls[value.strip().upper()]
        except KeyError:
            scale = " < ".join(level.name for level in cls)
            raise ValueError(f"unknown classification {value!r}; the scale is {scale}") from None


TLP_COLOURS = ("clear", "green", "amber", "amber+strict", "red")


class MarkingError(ValueError):
    """An invalid marking; `field` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Marking:
    classification: Classification
    rel_to: tuple[str, ...]
    orcon: bool
    tlp: str

    def as_dict(self) -> dict[str, object]:
        return {
            "classification": self.classification.name,
            "rel_to": list(self.rel_to),
            "orcon": self.orcon,
            "tlp": self.tlp,
        }

    def banner(self) -> str:
        text = f"{self.classification.name} // REL TO {', '.join(t.upper() for t in self.rel_to)}"
        if self.orcon:
            text += " // ORCON"
        return f"{text} // TLP:{self.tlp.upper()}"


def build_marking(
    *,
    classification: str,
    rel_to: Iterable[str],
    orcon: bool,
    tlp: str,
    origin: str,
    directory: NodeDirectory = NODE_DIRECTORY,
) -> Marking:
    """Validate and normalise a marking; raise MarkingError naming the field at fault."""
    try:
        level = Classification.parse(classification)
    except ValueError as exc:
        raise MarkingError("classification", str(exc)) from None
    tokens = sorted({str(token).strip().lower() for token in rel_to})
    if not tokens:
        raise MarkingError("rel_to", "REL TO must name at least one node or group")
    unknown = [token for token in tokens if not directory.is_known(token)]
    if unknown:
        known = ", ".join(directory.codes() + sorted(directory.groups()))
        raise MarkingError("rel_to", f"unknown node or group {', '.join(unknown)}; known: {known}")
    if origin not in directory.expand(tokens):
        raise MarkingError("rel_to", f"REL TO must include the originating node {origin!r}")
    colour = tlp.strip().lower()
    if colour not in TLP_COLOURS:
        raise MarkingError(
            "tlp", f"unknown TLP colour {tlp!r}; TLP 2.0 has {', '.join(TLP_COLOURS)}"
        )
    if colour == "clear" and level > Classification.OFFICIAL:
        raise MarkingError("tlp", f"TLP:CLEAR allows public disclosure; not with {level.name}")
    if orcon and colour in {"clear", "green"}:
        raise MarkingError(
            "orcon", f"ORCON keeps dissemination with the originator; not with TLP:{colour.upper()}"
        )
    return Marking(classification=level, rel_to=tuple(tokens), orcon=bool(orcon), tlp=colour)


def releasable_to(marking: Marking, node: str, directory: NodeDirectory = NODE_DIRECTORY) -> bool:
    """True when the REL TO list (groups expanded) names `node`."""
    return node in directory.expand(marking.rel_to)
