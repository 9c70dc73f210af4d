from __future__ import annotations

import pytest

from core.markings import Classification, Marking, MarkingError, build_marking, releasable_to


def make(**overrides: object) -> Marking:
    args: dict[str, object] = {
        "classification": "SECRET",
        "rel_to": ["fvey"],
        "orcon": False,
        "tlp": "amber",
        "origin": "us",
    }
    args.update(overrides)
    return build_marking(**args)  # type: ignore[arg-type]


def test_scale_is_ordered() -> None:
    assert Classification.OFFICIAL < Classification.RESTRICTED < Classification.CONFIDENTIAL
    assert Classification.CONFIDENTIAL < Classification.SECRET


def test_groups_expand_and_are_normalised() -> None:
    marking = make(rel_to=["JP", "fvey", "jp"])
    assert marking.rel_to == ("fvey", "jp")
    assert releasable_to(marking, "nz")
    assert releasable_to(marking, "jp")
    assert not releasable_to(marking, "eu")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"classification": "TOP SECRET"}, "classification"),
        ({"classification": "secretish"}, "classification"),
        ({"rel_to": []}, "rel_to"),
        ({"rel_to": ["fvey", "xx"]}, "rel_to"),
        ({"rel_to": ["eu", "jp"]}, "rel_to"),  # must include the originating node
        ({"tlp": "purple"}, "tlp"),
        ({"tlp": "clear"}, "tlp"),  # public disclosure of a SECRET report
        ({"orcon": True, "tlp": "green"}, "orcon"),
    ],
)
def test_invalid_combinations_are_refused_naming_the_field(
    overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(MarkingError) as caught:
        make(**overrides)
    assert caught.value.field == field
    assert caught.value.message


def test_clear_is_fine_for_official_and_banner_reads_well() -> None:
    marking = make(classification="official", tlp="CLEAR", rel_to=["us", "uk"])
    assert marking.banner() == "OFFICIAL // REL TO UK, US // TLP:CLEAR"
