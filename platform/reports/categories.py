"""The details each category of report takes, declared once.

A category's description lists its detail fields in order: each with its name (its path in a
report is `details.<name>`, `details.<name>.<index>.<leaf>` in a repeated group), label, kind,
whether it is required, its choices, limits and help. Everything that reads a report's
details is built from it:

* `reports.details` makes the DRF serializers the analyst API, the services and the
  federation inbox validate details with (and the OpenAPI document describes);
* `web.editor` makes the report editor: the inputs in order and by section, how what was
  typed is kept and read back into values, and which field an error names.

So a field added here is offered by the form, validated by the API and named in errors alike.
Plain Python, no Django or DRF import.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum

Choices = tuple[tuple[str, str], ...]  # (stored value, label)

MAX_SAFE_INTEGER = 2**53 - 1  # canonical JSON's integers (no floats, nothing larger)
COUNTRY_HELP = "Name or ISO code, e.g. Singapore or SG"


class Kind(StrEnum):
    TEXT = "text"  # one line
    LONG_TEXT = "long_text"  # paragraphs
    CHIP = "chip"  # an accelerator model: a catalogue name, or typed when the catalogue lacks it
    COUNTRY = "country"  # ISO 3166-1 alpha-2 (the form also reads names)
    INTEGER = "integer"  # a whole number (the form also reads digit-group separators)
    DECIMAL = "decimal"  # a decimal number as text ("3.2e25"): canonical JSON has no floats
    CHOICE = "choice"  # one of `choices`
    GROUP = "group"  # an object of `group.fields` (a party, a chip row)


@dataclass(frozen=True)
class Detail:
    """One field of a category's details (or of a group)."""

    name: str
    label: str
    kind: Kind = Kind.TEXT
    required: bool = False
    many: bool = False  # a list of such values; a list of groups is a repeated row
    group: Group | None = None  # kind GROUP: its fields
    choices: Choices = ()  # kind CHOICE
    default: str | None = None  # what an absent value is taken to be
    nullable: bool = False  # null is taken as absent
    blank: bool = False  # an empty text is accepted (kept as "")
    max_length: int | None = None  # characters of a text
    pattern: str = ""  # a text must match it, else `pattern_message`
    pattern_message: str = ""
    min_value: int | None = None
    max_value: int | None = None
    min_items: int = 0  # many: at least this many
    max_items: int | None = None  # many: at most this many
    check: Callable[[str], str] | None = None  # a further rule; raises ValueError(message)
    help: str = ""
    section: str = ""  # the editor section it sits in (a single group is a section itself)
    row_label: str = ""  # a repeated group: what one row is called in errors ("Item 2")
    add_label: str = ""  # a repeated group: the button that adds a row

    def __post_init__(self) -> None:
        if (self.kind is Kind.GROUP) != (self.group is not None):
            raise ValueError(f"{self.name}: a GROUP field, and only one, names its group")
        if (self.kind is Kind.CHOICE) != bool(self.choices):
            raise ValueError(f"{self.name}: a CHOICE field, and only one, has choices")
        if self.check is not None and (self.many or self.group is not None):
            raise ValueError(f"{self.name}: a further rule checks one value, not a list or group")

    @property
    def values(self) -> tuple[str, ...]:
        """The stored values of a CHOICE field."""
        return tuple(value for value, _ in self.choices)


@dataclass(frozen=True)
class Group:
    """Fields that travel together as one object: a party, a chip row. `schema` is its name in
    the API's document ("Party")."""

    schema: str
    fields: tuple[Detail, ...]
    doc: str = ""


@dataclass(frozen=True)
class CategoryDetails:
    """The details of one category. `schema` is their name in the API's document."""

    category: str
    schema: str
    fields: tuple[Detail, ...]
    doc: str = ""

    def paths(self) -> Iterator[tuple[str, Detail]]:
        """Every field with its full path, a repeated group's by its first row
        ("details.items.0.quantity"); a group's own path comes before its fields'."""
        yield from _paths("details", self.fields)


def _paths(prefix: str, fields: tuple[Detail, ...]) -> Iterator[tuple[str, Detail]]:
    for detail in fields:
        path = f"{prefix}.{detail.name}"
        yield path, detail
        if detail.group is not None:
            yield from _paths(f"{path}.0" if detail.many else path, detail.group.fields)


# --------------------------------------------------------------------------------------------
# Choices
# --------------------------------------------------------------------------------------------

RED_FLAG_CHOICES: Choices = (
    ("freight_forwarder_consignee", "Freight forwarder named as consignee"),
    ("residential_address", "Residential address"),
    ("third_country_payment", "Payment from a third country"),
    ("refused_installation", "Refused installation or support"),
    ("new_company", "Newly formed company"),
    ("evasive_end_use", "Evasive about end use"),
    ("cash_payment", "Cash payment"),
    ("unusual_routing", "Unusual routing"),
    ("mismatched_end_use", "End use does not match the buyer"),
    ("reluctant_information", "Reluctant to give information"),
)
INTERMEDIARY_ROLE_CHOICES: Choices = (
    ("freight_forwarder", "Freight forwarder"),
    ("reseller", "Reseller"),
    ("shell", "Shell company"),
    ("bank", "Bank"),
    ("other", "Other"),
)
WEIGHTS_CHANNEL_CHOICES: Choices = (
    ("leak", "Leak"),
    ("theft", "Theft"),
    ("unlicensed_transfer", "Unlicensed transfer"),
    ("sale", "Sale"),
    ("open_release", "Open release"),
    ("licensed", "Licensed transfer"),
)
INCIDENT_CAPABILITY_CHOICES: Choices = (
    ("self_replication", "Self-replication"),
    ("vulnerability_exploitation", "Vulnerability exploitation"),
    ("detection_evasion", "Detection evasion"),
    ("resource_acquisition", "Resource acquisition"),
)
ACTOR_TYPE_CHOICES: Choices = (
    ("state", "State"),
    ("company", "Company"),
    ("criminal", "Criminal"),
    ("individual", "Individual"),
    ("unknown", "Unknown"),
)

# --------------------------------------------------------------------------------------------
# Rules beyond a kind's own
# --------------------------------------------------------------------------------------------

MAX_TRAINING_FLOP = 1e35
FLOP_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)?([eE]\+?[0-9]{1,3})?$")
ECCN_PATTERN = r"^[0-9][A-E][0-9]{3}(\.[a-z0-9.]+)?$"


def training_compute(value: str) -> str:
    """Training compute in FLOP: a positive decimal number as text, at most 1e35."""
    if not FLOP_PATTERN.match(value.strip()):
        raise ValueError("expected a decimal number such as 3.2e25 (as text)")
    number = float(value)
    if number <= 0:
        raise ValueError("training compute must be positive")
    if not math.isfinite(number) or number > MAX_TRAINING_FLOP:
        # "9e999" parses as infinity; the largest runs are around 10^26 FLOP.
        raise ValueError(f"at most {MAX_TRAINING_FLOP:.0e} FLOP")
    return value.strip()


# --------------------------------------------------------------------------------------------
# Groups
# --------------------------------------------------------------------------------------------

NAME = Detail("name", "Name", required=True, max_length=300)
ADDRESS = Detail("address", "Address", max_length=500, nullable=True, blank=True)
COUNTRY = Detail("country", "Country", Kind.COUNTRY, nullable=True, help=COUNTRY_HELP)

PARTY = Group("Party", (NAME, ADDRESS, COUNTRY))
INTERMEDIARY = Group(
    "Intermediary",
    (
        NAME,
        Detail("role", "Role", Kind.CHOICE, choices=INTERMEDIARY_ROLE_CHOICES, default="other"),
        COUNTRY,
        ADDRESS,
    ),
)
ACTOR = Group(
    "Actor",
    (NAME, ADDRESS, COUNTRY, Detail("type", "Type", Kind.CHOICE, choices=ACTOR_TYPE_CHOICES)),
)
CHIP_MODEL = Detail("model", "Chip model", Kind.CHIP, required=True, max_length=100)
QUANTITY = Detail("quantity", "Quantity", Kind.INTEGER, min_value=1, max_value=10_000_000)
CHIP_ITEM = Group(
    "ChipItem",
    (
        CHIP_MODEL,
        Detail(
            "quantity", "Quantity", Kind.INTEGER, required=True, min_value=1, max_value=10_000_000
        ),
        Detail(
            "serials",
            "Serial numbers",
            many=True,
            max_length=64,
            max_items=10_000,
            help="Separated by commas or spaces",
        ),
    ),
)
CHIP_USE = Group("ChipUse", (CHIP_MODEL, QUANTITY))

# --------------------------------------------------------------------------------------------
# Fields several categories share
# --------------------------------------------------------------------------------------------

RED_FLAGS = Detail(
    "red_flags",
    "Red flags",
    Kind.CHOICE,
    many=True,
    choices=RED_FLAG_CHOICES,
    max_items=len(RED_FLAG_CHOICES),
    section="Red flags",
)
TRAINING_COMPUTE = Detail(
    "training_compute_flop",
    "Training compute (FLOP)",
    Kind.DECIMAL,
    max_length=40,
    nullable=True,
    check=training_compute,
    help="A decimal number such as 3.2e25",
)


def _party(name: str, label: str, *, required: bool = False) -> Detail:
    return Detail(name, label, Kind.GROUP, group=PARTY, required=required, nullable=not required)


def _chips(name: str, label: str, section: str, max_items: int | None) -> Detail:
    return Detail(
        name,
        label,
        Kind.GROUP,
        group=CHIP_USE,
        many=True,
        max_items=max_items,
        section=section,
        row_label="Chip",
        add_label="Add a chip",
    )


GENERAL_FIELDS = (
    _party("organisation", "Organisation"),
    Detail(
        "description",
        "Description",
        Kind.LONG_TEXT,
        max_length=5_000,
        blank=True,
        section="Description",
    ),
)

# --------------------------------------------------------------------------------------------
# The categories
# --------------------------------------------------------------------------------------------

CHIP_DIVERSION = CategoryDetails(
    "chip_diversion",
    "ChipDiversionDetails",
    (
        Detail(
            "items",
            "Items shipped",
            Kind.GROUP,
            group=CHIP_ITEM,
            many=True,
            required=True,
            min_items=1,
            max_items=200,
            section="Items",
            row_label="Item",
            add_label="Add another item",
        ),
        _party("consignee", "Consignee"),
        _party("declared_end_user", "Declared end user"),
        _party("suspected_end_user", "Suspected end user"),
        Detail(
            "intermediaries",
            "Intermediaries (forwarders, resellers, shells, banks)",
            Kind.GROUP,
            group=INTERMEDIARY,
            many=True,
            max_items=100,
            section="Intermediaries",
            row_label="Intermediary",
            add_label="Add an intermediary",
        ),
        Detail(
            "route",
            "Route",
            Kind.COUNTRY,
            many=True,
            max_items=20,
            section="Shipment",
            help="Countries in order, names or codes: US, Singapore, MY, CN",
        ),
        Detail(
            "value_usd",
            "Declared value (USD)",
            Kind.INTEGER,
            min_value=0,
            max_value=MAX_SAFE_INTEGER,
            nullable=True,
            section="Shipment",
        ),
        Detail(
            "eccn",
            "ECCN",
            max_length=20,
            pattern=ECCN_PATTERN,
            pattern_message="expected an ECCN such as 3A090.a",
            nullable=True,
            section="Shipment",
            help="e.g. 3A090.a",
        ),
        Detail(
            "shipment_ref",
            "Shipment reference",
            max_length=100,
            nullable=True,
            section="Shipment",
        ),
        RED_FLAGS,
    ),
)

MILITARY_AI = CategoryDetails(
    "military_ai",
    "MilitaryAIDetails",
    (
        _party("organisation", "Developer", required=True),
        Detail(
            "capability",
            "Capability",
            Kind.LONG_TEXT,
            required=True,
            max_length=500,
            section="Capability",
        ),
        replace(TRAINING_COMPUTE, section="Capability"),
        _chips("chips_used", "Chips used", "Capability", max_items=50),
        RED_FLAGS,
    ),
)

CLOUD_COMPUTE = CategoryDetails(
    "cloud_compute",
    "CloudComputeDetails",
    (
        _party("provider", "Cloud provider", required=True),
        _party("customer", "Customer", required=True),
        Detail(
            "gpu_hours",
            "GPU hours",
            Kind.INTEGER,
            min_value=0,
            max_value=MAX_SAFE_INTEGER,
            nullable=True,
            section="Compute",
        ),
        _chips("chips", "Chips rented", "Compute", max_items=None),
        RED_FLAGS,
    ),
)

MODEL_WEIGHTS = CategoryDetails(
    "model_weights",
    "ModelWeightsDetails",
    (
        *GENERAL_FIELDS,
        Detail("model_name", "Model", max_length=200, blank=True, section="Model weights"),
        replace(TRAINING_COMPUTE, section="Model weights"),
        Detail(
            "channel",
            "How the weights moved",
            Kind.CHOICE,
            choices=WEIGHTS_CHANNEL_CHOICES,
            nullable=True,
            section="Model weights",
        ),
        _party("recipient", "Recipient"),
        RED_FLAGS,
    ),
    doc="Model-weights proliferation: the model's compute, how the weights moved, to whom.",
)

AI_INCIDENT = CategoryDetails(
    "ai_incident",
    "AIIncidentDetails",
    (
        *GENERAL_FIELDS,
        Detail(
            "capabilities",
            "Capabilities demonstrated",
            Kind.CHOICE,
            many=True,
            choices=INCIDENT_CAPABILITY_CHOICES,
            max_items=len(INCIDENT_CAPABILITY_CHOICES),
            section="Incident",
        ),
        Detail(
            "scale",
            "Scale",
            Kind.INTEGER,
            min_value=0,
            max_value=MAX_SAFE_INTEGER,
            section="Incident",
            help="How far it spread, e.g. copies or hosts",
        ),
        Detail("actor", "Actor", Kind.GROUP, group=ACTOR, nullable=True),
        RED_FLAGS,
    ),
    doc="Autonomous / self-replicating AI incident: what it demonstrated, how far, by whom.",
)

OTHER = CategoryDetails("other", "GeneralDetails", (*GENERAL_FIELDS, RED_FLAGS))

CATEGORIES: dict[str, CategoryDetails] = {
    spec.category: spec
    for spec in (CHIP_DIVERSION, MILITARY_AI, CLOUD_COMPUTE, MODEL_WEIGHTS, AI_INCIDENT, OTHER)
}
