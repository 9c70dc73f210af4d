"""Parsers for screening-list files: US Consolidated Screening List (JSON, CSV) and OFAC SDN CSV.

All-or-nothing: a file is parsed completely before anything is returned, and the first problem
raises :class:`ScreeningFormatError` naming the 1-based line, the field and the reason, so an
operator can fix the file instead of screening against half a list.

Layouts (reference section 2):

* CSL JSON: ``{"results": [{"id", "name", "alt_names": [...], "addresses": [{"address",
  "city", "state", "postal_code", "country"}], "source", "programs": [...], "type",
  "start_date", ...}], "total", "sources_used", ...}`` (a bare list of records is accepted).
* CSL CSV: a header row; columns looked up by name (``_id``/``id``, ``name``, ``alt_names``,
  ``addresses``, ``source``, ``programs``, ``type``, ``start_date``, ``remarks``...).
  ``alt_names`` and ``programs`` are ``;``-separated; ``addresses`` is ``;``-separated
  addresses whose comma-separated parts end with the ISO alpha-2 country.
* OFAC ``SDN.CSV``: no header, 12 positional columns ``ent_num, SDN_Name, SDN_Type, Program,
  Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks``; ``-0-`` is null;
  programs look like ``IRAN] [SDGT``; ``a.k.a. 'X'`` in remarks become aliases. Optional
  ``ALT.CSV`` (``ent_num, alt_num, alt_type, alt_name, alt_remarks``) and ``ADD.CSV``
  (``ent_num, add_num, address, city_state_postal, country, add_remarks``) add aliases and
  addresses.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from riskscore.matching import ScreeningAddress, ScreeningEntry

__all__ = [
    "SDN_COLUMNS",
    "SDN_SOURCE",
    "ScreeningFormatError",
    "load_screening_file",
    "parse_csl_csv",
    "parse_csl_json",
    "parse_ofac_sdn_csv",
]

SDN_COLUMNS = (
    "ent_num",
    "SDN_Name",
    "SDN_Type",
    "Program",
    "Title",
    "Call_Sign",
    "Vess_type",
    "Tonnage",
    "GRT",
    "Vess_flag",
    "Vess_owner",
    "Remarks",
)
ALT_COLUMNS = ("ent_num", "alt_num", "alt_type", "alt_name", "alt_remarks")
ADD_COLUMNS = ("ent_num", "add_num", "address", "city_state_postal", "country", "add_remarks")
SDN_SOURCE = "Specially Designated Nationals (SDN) - Treasury Department"
SDN_TYPES = frozenset({"individual", "vessel", "aircraft"})  # null type = entity

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AKA = re.compile(r"\b(?:a\.k\.a\.|f\.k\.a\.|n\.k\.a\.)\s*'([^']+)'", re.IGNORECASE)
_NULL = "-0-"


class ScreeningFormatError(ValueError):
    """A screening file that does not have the expected layout."""

    def __init__(self, line: int, field: str, reason: str) -> None:
        super().__init__(f"line {line}, field {field!r}: {reason}")
        self.line = line
        self.field = field
        self.reason = reason


def _text(data: str | bytes) -> str:
    if isinstance(data, bytes):
        try:
            decoded = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ScreeningFormatError(line, "encoding", "not valid UTF-8") from None
        data = decoded
    return data.removeprefix("\ufeff").rstrip("\x1a")  # BOM; DOS end-of-file marker in SDN.CSV


# ---------------------------------------------------------------------------------------------
# CSL JSON


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


_WS = re.compile(r"[ \t\n\r]*")


def _records_with_lines(text: str) -> list[tuple[int, Any]]:
    """Top-level ``results`` records (or a bare list) with the line each record starts on."""
    decoder = json.JSONDecoder()

    def skip(pos: int) -> int:
        match = _WS.match(text, pos)
        return match.end() if match else pos

    def decode(pos: int) -> tuple[Any, int]:
        try:
            return decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ScreeningFormatError(exc.lineno, "json", exc.msg) from None

    def array(pos: int) -> tuple[list[tuple[int, Any]], int]:
        out: list[tuple[int, Any]] = []
        pos = skip(pos + 1)
        if text.startswith("]", pos):
            return out, pos + 1
        while True:
            value, end = decode(pos)
            out.append((_line_of(text, pos), value))
            pos = skip(end)
            if text.startswith("]", pos):
                return out, pos + 1
            if not text.startswith(",", pos):
                raise ScreeningFormatError(_line_of(text, pos), "json", "expected ',' or ']'")
            pos = skip(pos + 1)

    pos = skip(0)
    if text.startswith("[", pos):
        records, end = array(pos)
    elif text.startswith("{", pos):
        records = []
        found = False
        pos = skip(pos + 1)
        while not text.startswith("}", pos):
            key, end = decode(pos)
            if not isinstance(key, str):
                raise ScreeningFormatError(_line_of(text, pos), "json", "expected a key")
            pos = skip(end)
            if not text.startswith(":", pos):
                raise ScreeningFormatError(_line_of(text, pos), "json", "expected ':'")
            pos = skip(pos + 1)
            if key == "results":
                if not text.startswith("[", pos):
                    raise ScreeningFormatError(_line_of(text, pos), "results", "expected a list")
                records, end = array(pos)
                found = True
            else:
                _, end = decode(pos)
            pos = skip(end)
            if text.startswith(",", pos):
                pos = skip(pos + 1)
            elif not text.startswith("}", pos):
                raise ScreeningFormatError(_line_of(text, pos), "json", "expected ',' or '}'")
        end = pos + 1
        if not found:
            raise ScreeningFormatError(1, "results", "no 'results' list in the document")
    else:
        raise ScreeningFormatError(_line_of(text, pos), "json", "expected an object or a list")
    if skip(end) != len(text):
        raise ScreeningFormatError(_line_of(text, skip(end)), "json", "extra data after the end")
    return records


def _opt_str(record: Mapping[str, Any], key: str, line: int) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ScreeningFormatError(line, key, f"expected a string, got {type(value).__name__}")
    return value.strip() or None


def _str_list(record: Mapping[str, Any], key: str, line: int) -> tuple[str, ...]:
    value = record.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScreeningFormatError(line, key, "expected a list of strings")
    return tuple(v.strip() for v in value if v.strip())


def _country(value: str | None, line: int, field: str) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    if not _COUNTRY.match(code):
        raise ScreeningFormatError(line, field, f"expected an ISO 3166 alpha-2 code, got {value!r}")
    return code


def _date(value: str | None, line: int, field: str) -> str | None:
    if value is None:
        return None
    if not _DATE.match(value):
        raise ScreeningFormatError(line, field, f"expected YYYY-MM-DD, got {value!r}")
    return value


def _csl_record(record: Any, line: int) -> ScreeningEntry:
    if not isinstance(record, dict):
        raise ScreeningFormatError(line, "results", "each record must be an object")
    ident = _opt_str(record, "id", line) or _opt_str(record, "_id", line)
    if ident is None:
        raise ScreeningFormatError(line, "id", "missing record identifier")
    name = _opt_str(record, "name", line)
    if name is None:
        raise ScreeningFormatError(line, "name", "missing name")
    raw_addresses = record.get("addresses") or []
    if not isinstance(raw_addresses, list):
        raise ScreeningFormatError(line, "addresses", "expected a list of objects")
    addresses: list[ScreeningAddress] = []
    for i, item in enumerate(raw_addresses):
        where = f"addresses[{i}]"
        if not isinstance(item, dict):
            raise ScreeningFormatError(line, where, "expected an object")
        addresses.append(
            ScreeningAddress(
                address=_opt_str(item, "address", line),
                city=_opt_str(item, "city", line),
                state=_opt_str(item, "state", line) or _opt_str(item, "state_or_province", line),
                postal_code=_opt_str(item, "postal_code", line),
                country=_country(_opt_str(item, "country", line), line, f"{where}.country"),
            )
        )
    return ScreeningEntry(
        id=ident,
        name=name,
        alt_names=_str_list(record, "alt_names", line),
        addresses=tuple(addresses),
        source=_opt_str(record, "source", line) or "",
        programs=_str_list(record, "programs", line),
        type=_opt_str(record, "type", line),
        start_date=_date(_opt_str(record, "start_date", line), line, "start_date"),
        remarks=_opt_str(record, "remarks", line),
    )


def parse_csl_json(data: str | bytes) -> list[ScreeningEntry]:
    """Entries of a CSL JSON document; ScreeningFormatError names line and field at fault."""
    records = _records_with_lines(_text(data))
    entries = [_csl_record(record, line) for line, record in records]
    _check_unique(entries, [line for line, _ in records], "id")
    return entries


def _check_unique(entries: list[ScreeningEntry], lines: list[int], field: str) -> None:
    seen: dict[str, int] = {}
    for entry, line in zip(entries, lines, strict=True):
        if entry.id in seen:
            raise ScreeningFormatError(
                line, field, f"duplicate identifier {entry.id!r} (first on line {seen[entry.id]})"
            )
        seen[entry.id] = line


# ---------------------------------------------------------------------------------------------
# CSV helpers


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """Rows with the line each starts on (quoted fields may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ScreeningFormatError(reader.line_num or start, "csv", str(exc)) from None
    return rows


def _split(value: str, sep: str = ";") -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(sep) if part.strip())


# ---------------------------------------------------------------------------------------------
# CSL CSV


def _csv_address(text: str, line: int) -> ScreeningAddress:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    country = None
    if parts and _COUNTRY.match(parts[-1]):
        country = parts.pop()
    elif parts and len(parts[-1]) <= 3 and parts[-1].isalpha():
        raise ScreeningFormatError(line, "addresses", f"bad country code {parts[-1]!r}")
    return ScreeningAddress(address=", ".join(parts) or None, country=country)


def parse_csl_csv(data: str | bytes) -> list[ScreeningEntry]:
    """Entries of a CSL CSV export (header row; columns by name)."""
    text = _text(data)
    rows = _csv_rows(text)
    if not rows:
        raise ScreeningFormatError(1, "header", "empty file")
    header_line, header = rows[0]
    columns = [h.strip().lower() for h in header]
    if "name" not in columns:
        raise ScreeningFormatError(header_line, "header", "no 'name' column")
    id_column = next((c for c in ("_id", "id", "entity_number") if c in columns), None)
    if id_column is None:
        raise ScreeningFormatError(header_line, "header", "no '_id', 'id' or 'entity_number'")
    index = {name: i for i, name in enumerate(columns)}

    def cell(row: list[str], name: str) -> str:
        i = index.get(name)
        return row[i].strip() if i is not None else ""

    entries: list[ScreeningEntry] = []
    lines: list[int] = []
    for line, row in rows[1:]:
        if len(row) != len(columns):
            raise ScreeningFormatError(
                line, "row", f"expected {len(columns)} columns, got {len(row)}"
            )
        ident = cell(row, id_column)
        if not ident:
            raise ScreeningFormatError(line, id_column, "missing record identifier")
        name = cell(row, "name")
        if not name:
            raise ScreeningFormatError(line, "name", "missing name")
        entries.append(
            ScreeningEntry(
                id=ident,
                name=name,
                alt_names=_split(cell(row, "alt_names")),
                addresses=tuple(_csv_address(a, line) for a in _split(cell(row, "addresses"))),
                source=cell(row, "source"),
                programs=_split(cell(row, "programs")),
                type=cell(row, "type") or None,
                start_date=_date(cell(row, "start_date") or None, line, "start_date"),
                remarks=cell(row, "remarks") or None,
            )
        )
        lines.append(line)
    _check_unique(entries, lines, id_column)
    return entries


# ---------------------------------------------------------------------------------------------
# OFAC SDN CSV


def _null(value: str) -> str | None:
    value = value.strip()
    return None if value in ("", _NULL) else value


def _positional(
    text: str, columns: tuple[str, ...], what: str
) -> list[tuple[int, dict[str, str | None]]]:
    out: list[tuple[int, dict[str, str | None]]] = []
    for line, row in _csv_rows(text):
        if len(row) != len(columns):
            raise ScreeningFormatError(
                line, "row", f"{what}: expected {len(columns)} columns, got {len(row)}"
            )
        out.append((line, {name: _null(v) for name, v in zip(columns, row, strict=True)}))
    return out


def _ent_num(value: str | None, line: int) -> int:
    if value is None or not value.isdigit():
        raise ScreeningFormatError(line, "ent_num", f"expected a positive integer, got {value!r}")
    return int(value)


def parse_ofac_sdn_csv(
    data: str | bytes,
    *,
    alt_csv: str | bytes | None = None,
    add_csv: str | bytes | None = None,
) -> list[ScreeningEntry]:
    """Entries of OFAC ``SDN.CSV`` (headerless), optionally joined with ALT.CSV / ADD.CSV."""
    records = _positional(_text(data), SDN_COLUMNS, "SDN.CSV")
    aliases: dict[int, list[str]] = {}
    addresses: dict[int, list[ScreeningAddress]] = {}
    known = set()
    for line, rec in records:
        known.add(_ent_num(rec["ent_num"], line))
    if alt_csv is not None:
        for line, rec in _positional(_text(alt_csv), ALT_COLUMNS, "ALT.CSV"):
            ent = _ent_num(rec["ent_num"], line)
            if ent not in known:
                raise ScreeningFormatError(line, "ent_num", f"ALT.CSV refers to unknown {ent}")
            if rec["alt_name"] is None:
                raise ScreeningFormatError(line, "alt_name", "missing alias")
            aliases.setdefault(ent, []).append(rec["alt_name"])
    if add_csv is not None:
        for line, rec in _positional(_text(add_csv), ADD_COLUMNS, "ADD.CSV"):
            ent = _ent_num(rec["ent_num"], line)
            if ent not in known:
                raise ScreeningFormatError(line, "ent_num", f"ADD.CSV refers to unknown {ent}")
            parts = [p for p in (rec["address"], rec["city_state_postal"], rec["country"]) if p]
            code = rec["country"] if rec["country"] and _COUNTRY.match(rec["country"]) else None
            addresses.setdefault(ent, []).append(
                ScreeningAddress(address=", ".join(parts) or None, country=code)
            )
    entries: list[ScreeningEntry] = []
    lines: list[int] = []
    for line, rec in records:
        ent = _ent_num(rec["ent_num"], line)
        name = rec["SDN_Name"]
        if name is None:
            raise ScreeningFormatError(line, "SDN_Name", "missing name")
        sdn_type = rec["SDN_Type"]
        if sdn_type is not None and sdn_type.lower() not in SDN_TYPES:
            raise ScreeningFormatError(
                line, "SDN_Type", f"expected individual, vessel, aircraft or -0-, got {sdn_type!r}"
            )
        program = rec["Program"]
        if program is None:
            raise ScreeningFormatError(line, "Program", "missing sanctions program")
        programs = tuple(p.strip(" []") for p in program.split("] [") if p.strip(" []"))
        remarks = rec["Remarks"]
        alt = list(aliases.get(ent, []))
        alt.extend(m.group(1).strip() for m in _AKA.finditer(remarks or ""))
        entries.append(
            ScreeningEntry(
                id=f"sdn-{ent}",
                name=name,
                alt_names=tuple(dict.fromkeys(a for a in alt if a and a != name)),
                addresses=tuple(addresses.get(ent, [])),
                source=SDN_SOURCE,
                programs=programs,
                type=(sdn_type or "entity").capitalize(),
                remarks=remarks,
                extra={k: v for k, v in rec.items() if v is not None and k in _VESSEL_FIELDS},
            )
        )
        lines.append(line)
    _check_unique(entries, lines, "ent_num")
    return entries


_VESSEL_FIELDS = frozenset({"Title", "Call_Sign", "Vess_type", "Tonnage", "GRT", "Vess_flag"})


# ---------------------------------------------------------------------------------------------


def load_screening_file(path: str | Path) -> list[ScreeningEntry]:
    """Parse a file by its layout: ``.json`` -> CSL JSON; CSV with a ``name`` header -> CSL CSV;
    otherwise OFAC SDN.CSV."""
    raw = Path(path).read_bytes()
    text = _text(raw)
    parser: Callable[[str], list[ScreeningEntry]]
    if Path(path).suffix.lower() == ".json" or text.lstrip()[:1] in ("{", "["):
        parser = parse_csl_json
    else:
        first = next(csv.reader(io.StringIO(text.split("\n", 1)[0])), [])
        parser = (
            parse_csl_csv if "name" in [c.strip().lower() for c in first] else parse_ofac_sdn_csv
        )
    return parser(text)
