"""Screening-file parsers: good files parse, malformed files are refused naming line and field.

Every name below is invented; the files only reproduce the real layouts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskscore.screening_formats import (
    SDN_SOURCE,
    ScreeningFormatError,
    load_screening_file,
    parse_csl_csv,
    parse_csl_json,
    parse_ofac_sdn_csv,
)

CSL_JSON = """{
  "total": 2,
  "results": [
    {
      "id": "csl-0001",
      "name": "Tekhnosfera Trading LLC",
      "alt_names": ["Vorlan Kesh Import", "TTL"],
      "addresses": [
        {"address": "12 Jalan Ampang", "city": "Kuala Lumpur", "state": null,
         "postal_code": "50450", "country": "MY"}
      ],
      "source": "Entity List (EL) - Bureau of Industry and Security",
      "programs": ["EAR"],
      "type": "Entity",
      "start_date": "2025-03-01"
    },
    {
      "id": "csl-0002",
      "name": "Zhenbao Quantum Holdings",
      "alt_names": [],
      "addresses": [],
      "source": "Military End User (MEU) List - Bureau of Industry and Security",
      "programs": [],
      "start_date": null
    }
  ],
  "sources_used": []
}
"""

CSL_CSV = (
    "_id,name,alt_names,addresses,source,programs,start_date,type\n"
    'csl-1,Tekhnosfera Trading LLC,Vorlan Kesh Import; TTL,"12 Jalan Ampang, Kuala Lumpur, MY",'
    "Entity List (EL),EAR,2025-03-01,Entity\n"
    'csl-2,"Koral Vantek Electronics Co., Ltd.",,"Flat 5, 88 Nathan Road, Kowloon, HK; '
    '7 Harbour Lane, Kowloon, HK",Entity List (EL),EAR; SDGT,,Entity\n'
)

SDN_CSV = (
    '36,"ZHENBAO QUANTUM HOLDINGS","-0- ","CHINA-EAR] [SDGT","-0- ","-0- ","-0- ","-0- ",'
    '"-0- ","-0- ","-0- ","a.k.a. \'ZQH LIMITED\'; a.k.a. \'QUANTUM ZHENBAO\'."\n'
    '173,"PETROVSKY, Aleksandr","individual","RUSSIA-EO14024","Director","-0- ","-0- ",'
    '"-0- ","-0- ","-0- ","-0- ","DOB 01 Jan 1970."\n'
    "\x1a"
)


def test_csl_json_parses_names_aliases_addresses_and_programs() -> None:
    entries = parse_csl_json(CSL_JSON)
    assert [e.id for e in entries] == ["csl-0001", "csl-0002"]
    first = entries[0]
    assert first.alt_names == ("Vorlan Kesh Import", "TTL")
    assert first.addresses[0].country == "MY"
    assert first.addresses[0].postal_code == "50450"
    assert first.programs == ("EAR",)
    assert first.start_date == "2025-03-01"
    assert entries[1].addresses == ()
    assert entries[1].start_date is None


def test_csl_json_accepts_bytes_with_bom_and_a_bare_list() -> None:
    assert parse_csl_json(b"\xef\xbb\xbf" + CSL_JSON.encode())[0].name.startswith("Tekhno")
    records = json.loads(CSL_JSON)["results"]
    assert len(parse_csl_json(json.dumps(records))) == 2


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ('{"results": [\n  {"id": "a", "name": "X"},\n  {"id": "b"}\n]}', 3, "name"),
        (
            '{"results": [\n {"id": "a", "name": "X",\n  "addresses": [{"country": "MY"}, '
            '{"country": "Malaysia"}]}]}',
            2,
            "addresses[1].country",
        ),
        ('{"results": [\n{"id": "a", "name": "X"},\n{"id": "a", "name": "Y"}]}', 3, "id"),
        ('{"results": [\n{"id": "a", "name": "X", "start_date": "01/02/2025"}]}', 2, "start_date"),
        ('{"results": [\n{"id": "a", "name": "X", "alt_names": "Y"}]}', 2, "alt_names"),
        ('{"results": [\n{"id": "a", "name": "X"},\n{"id": "b", "name": }]}', 3, "json"),
        ('{"total": 0}', 1, "results"),
        ('{"results": [\n"just a string"]}', 2, "results"),
    ],
)
def test_csl_json_errors_name_line_and_field(text: str, line: int, field: str) -> None:
    with pytest.raises(ScreeningFormatError) as caught:
        parse_csl_json(text)
    assert (caught.value.line, caught.value.field) == (line, field)
    assert f"line {line}" in str(caught.value)


def test_csl_csv_parses_semicolon_lists_and_addresses() -> None:
    entries = parse_csl_csv(CSL_CSV)
    assert entries[0].alt_names == ("Vorlan Kesh Import", "TTL")
    assert entries[0].addresses[0].country == "MY"
    assert entries[0].addresses[0].address == "12 Jalan Ampang, Kuala Lumpur"
    assert [a.country for a in entries[1].addresses] == ["HK", "HK"]
    assert entries[1].programs == ("EAR", "SDGT")
    assert entries[1].name == "Koral Vantek Electronics Co., Ltd."


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("_id,alias\nx,y\n", 1, "header"),
        ("name,source\nX,EL\n", 1, "header"),
        ("_id,name,source\na,X,EL\nb,Y\n", 3, "row"),
        ("_id,name,start_date\na,X,2025-01-01\nb,Y,yesterday\n", 3, "start_date"),
        ("_id,name\na,X\n,Y\n", 3, "_id"),
        ("_id,name\na,X\na,Z\n", 3, "_id"),
        ('_id,name,remarks\na,X,"two\nlines"\nb,,z\n', 4, "name"),  # quoted newline counted
    ],
)
def test_csl_csv_errors_name_line_and_field(text: str, line: int, field: str) -> None:
    with pytest.raises(ScreeningFormatError) as caught:
        parse_csl_csv(text)
    assert (caught.value.line, caught.value.field) == (line, field)


def test_csl_csv_keeps_a_country_name_as_address_text() -> None:
    entry = parse_csl_csv('_id,name,addresses\na,X,"1 Road, Town, Malaysia"\n')[0]
    assert entry.addresses[0].country is None
    assert entry.addresses[0].address == "1 Road, Town, Malaysia"


def test_csl_csv_refuses_a_bad_country_code() -> None:
    with pytest.raises(ScreeningFormatError) as caught:
        parse_csl_csv('_id,name,addresses\na,X,"1 Road, Town, MYS"\n')
    assert (caught.value.line, caught.value.field) == (2, "addresses")


def test_ofac_sdn_csv_parses_nulls_programs_types_and_akas() -> None:
    entries = parse_ofac_sdn_csv(SDN_CSV)
    assert [e.id for e in entries] == ["sdn-36", "sdn-173"]
    company, person = entries
    assert company.type == "Entity"
    assert person.type == "Individual"
    assert company.programs == ("CHINA-EAR", "SDGT")
    assert company.alt_names == ("ZQH LIMITED", "QUANTUM ZHENBAO")
    assert company.source == SDN_SOURCE
    assert person.extra == {"Title": "Director"}


def test_ofac_alt_and_add_files_join_on_ent_num() -> None:
    alt = '36,12,"aka","ZHENBAO QH","-0- "\n'
    add = '36,25,"9 Science Road","Shenzhen","CN","-0- "\n'
    company = parse_ofac_sdn_csv(SDN_CSV, alt_csv=alt, add_csv=add)[0]
    assert company.alt_names[0] == "ZHENBAO QH"
    assert company.addresses[0].country == "CN"
    with pytest.raises(ScreeningFormatError) as caught:
        parse_ofac_sdn_csv(SDN_CSV, alt_csv=alt + '99,13,"aka","NOBODY","-0- "\n')
    assert (caught.value.line, caught.value.field) == (2, "ent_num")


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (
            '36,"A","-0- ","SDGT","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- "\n'
            'x1,"B","-0- ","SDGT","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- "\n',
            2,
            "ent_num",
        ),
        ('36,"A","-0- ","SDGT","-0- "\n', 1, "row"),
        (
            '36,"-0- ","-0- ","SDGT","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- "\n',
            1,
            "SDN_Name",
        ),
        (
            '36,"A","company","SDGT","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- "\n',
            1,
            "SDN_Type",
        ),
        (
            '36,"A","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- "\n',
            1,
            "Program",
        ),
    ],
)
def test_ofac_sdn_errors_name_line_and_field(text: str, line: int, field: str) -> None:
    with pytest.raises(ScreeningFormatError) as caught:
        parse_ofac_sdn_csv(text)
    assert (caught.value.line, caught.value.field) == (line, field)


def test_parsing_is_all_or_nothing() -> None:
    good = SDN_CSV.rstrip("\x1a")
    bad_last = good + '999,"C","vessel","SDGT","-0- ","-0- "\n'
    with pytest.raises(ScreeningFormatError) as caught:
        parse_ofac_sdn_csv(bad_last)
    assert caught.value.line == 3


def test_load_screening_file_detects_the_layout(tmp_path: Path) -> None:
    (tmp_path / "csl.json").write_text(CSL_JSON, encoding="utf-8")
    (tmp_path / "csl.csv").write_text(CSL_CSV, encoding="utf-8")
    (tmp_path / "SDN.CSV").write_text(SDN_CSV, encoding="utf-8")
    assert load_screening_file(tmp_path / "csl.json")[0].id == "csl-0001"
    assert load_screening_file(tmp_path / "csl.csv")[0].id == "csl-1"
    assert load_screening_file(tmp_path / "SDN.CSV")[0].id == "sdn-36"
    (tmp_path / "bad.csv").write_bytes(b"_id,name\na,\xff\xfe\n")
    with pytest.raises(ScreeningFormatError) as caught:
        load_screening_file(tmp_path / "bad.csv")
    assert (caught.value.line, caught.value.field) == (2, "encoding")
