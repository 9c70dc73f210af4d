"""Django forms for the simple pages (the report editor has its own, see `web.editor`)."""

from __future__ import annotations

from typing import Any

from django import forms

from cases.models import CLOSED_STATUSES, CaseStatus
from core.markings import Classification
from core.nodes import NODE_DIRECTORY
from federation.models import KeyUse
from reports.models import TLP_CHOICES, Category, Status
from reports.selectors import ReportFilters
from reports.services import WITHDRAW_REASON_MAX

from .labels import node_name


class LoginForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Six-digit code from your authenticator app",
        max_length=10,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "autofocus": True,
            }
        ),
    )


def _level_choices(clearance: Classification) -> list[tuple[str, str]]:
    return [(c.name, c.name) for c in Classification if c <= clearance]


class ReportFilterForm(forms.Form):
    """Filters of the report list; an invalid value is ignored (and shown as an error)."""

    q = forms.CharField(
        label="Search",
        max_length=200,
        required=False,
        help_text="Titles, names, addresses, serials, shipment references, notes",
    )
    category = forms.ChoiceField(
        label="Category", required=False, choices=[("", "Any category"), *Category.choices]
    )
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Status.choices]
    )
    origin = forms.ChoiceField(label="Origin", required=False)
    country = forms.RegexField(
        label="Country",
        regex=r"^[A-Za-z]{2}$",
        required=False,
        max_length=2,
        error_messages={"invalid": "A two-letter ISO code, e.g. SG"},
    )
    classification = forms.ChoiceField(label="Classification", required=False)
    event_from = forms.DateField(
        label="Event from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    event_to = forms.DateField(
        label="Event to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, clearance: Classification, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        origins = [(code, f"{code.upper()} – {node_name(code)}") for code in NODE_DIRECTORY.codes()]
        origin = self.fields["origin"]
        level = self.fields["classification"]
        assert isinstance(origin, forms.ChoiceField)
        assert isinstance(level, forms.ChoiceField)
        origin.choices = [("", "Any origin"), *origins]
        level.choices = [("", "Any level"), *_level_choices(clearance)]

    def to_filters(self) -> ReportFilters:
        self.is_valid()  # invalid fields drop out of cleaned_data; the valid ones still apply
        data = self.cleaned_data
        level = data.get("classification")
        return ReportFilters(
            category=data.get("category") or None,
            status=data.get("status") or None,
            origin=data.get("origin") or None,
            country=(data.get("country") or "").upper() or None,
            classification=Classification[level] if level else None,
            event_from=data.get("event_from"),
            event_to=data.get("event_to"),
            search=data.get("q") or None,
        )


class WithdrawForm(forms.Form):
    base_version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for withdrawal",
        max_length=WITHDRAW_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PartnerForm(forms.Form):
    code = forms.RegexField(
        label="Partner node code",
        regex=r"^[a-z]{2,8}$",
        max_length=8,
        error_messages={"invalid": "2 to 8 lower-case letters, e.g. uk"},
    )
    name = forms.CharField(label="Display name (optional)", max_length=100, required=False)
    base_url = forms.URLField(label="Base URL", max_length=200, assume_scheme="https")
    fingerprint = forms.CharField(
        label="Root-key fingerprint given out of band",
        max_length=200,
        help_text="64 hex characters; spaces and colons are ignored",
    )


class PolicyForm(forms.Form):
    ceiling = forms.ChoiceField(
        label="Accreditation ceiling", choices=[(c.name, c.name) for c in Classification]
    )
    categories = forms.MultipleChoiceField(
        label="Categories shared (none ticked: every category)",
        required=False,
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    tlp_allowed = forms.MultipleChoiceField(
        label="TLP colours shared (none ticked: every colour)",
        required=False,
        choices=TLP_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    relay_origins = forms.MultipleChoiceField(
        label="Origins whose reports may be relayed with this partner",
        required=False,
        choices=[(code, code.upper()) for code in NODE_DIRECTORY.codes()],
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(
        label="Reason for the change",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class DecisionForm(forms.Form):
    note = forms.CharField(label="Note", max_length=500, required=False)


class RevokeForm(forms.Form):
    kid = forms.CharField(max_length=80, widget=forms.HiddenInput)
    reason = forms.CharField(label="Reason for revocation", max_length=300)


class RotateForm(forms.Form):
    use = forms.ChoiceField(choices=[(KeyUse.REPORT, "report"), (KeyUse.REQUEST, "request")])


def _score_field(label: str) -> forms.FloatField:
    return forms.FloatField(
        label=label,
        required=False,
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )


class CaseFilterForm(forms.Form):
    """Filters of the triage queue; an invalid value is ignored (and shown as an error)."""

    q = forms.CharField(label="Title contains", max_length=100, required=False)
    category = forms.ChoiceField(
        label="Category",
        required=False,
        choices=[("", "Any category"), *Category.choices, ("mixed", "Mixed categories")],
    )
    country = forms.RegexField(
        label="Country",
        regex=r"^[A-Za-z]{2}$",
        required=False,
        max_length=2,
        error_messages={"invalid": "A two-letter ISO code, e.g. SG"},
    )
    origin = forms.ChoiceField(label="Origin partner", required=False)
    classification = forms.ChoiceField(label="Classification", required=False)
    event_from = forms.DateField(
        label="Latest event from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    event_to = forms.DateField(
        label="Latest event to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    min_score = _score_field("Minimum score")
    max_score = _score_field("Score below")
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *CaseStatus.choices]
    )
    assignee = forms.ChoiceField(
        label="Assigned to",
        required=False,
        choices=[("", "Anyone or nobody"), ("me", "Me"), ("none", "Nobody")],
    )

    def __init__(self, *args: Any, clearance: Classification, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        origins = [(code, f"{code.upper()} – {node_name(code)}") for code in NODE_DIRECTORY.codes()]
        origin = self.fields["origin"]
        level = self.fields["classification"]
        assert isinstance(origin, forms.ChoiceField)
        assert isinstance(level, forms.ChoiceField)
        origin.choices = [("", "Any origin"), *origins]
        level.choices = [("", "Any level"), *_level_choices(clearance)]

    def cleaned(self) -> dict[str, Any]:
        """The valid filters (invalid fields drop out of cleaned_data; the others still apply)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = self.cleaned_data
        level = data.get("classification")
        return {
            "category": data.get("category") or None,
            "country": (data.get("country") or "").upper() or None,
            "origin": data.get("origin") or None,
            "min_score": data.get("min_score"),
            "max_score": data.get("max_score"),
            "classification": int(Classification[level]) if level else None,
            "search": (data.get("q") or "").strip() or None,
            "event_from": data.get("event_from"),
            "event_to": data.get("event_to"),
            "status": data.get("status") or None,
            "assignee": data.get("assignee") or None,
        }


class CaseStatusForm(forms.Form):
    status = forms.ChoiceField(
        label="Status",
        choices=[
            (value, label) for value, label in CaseStatus.choices if value not in CLOSED_STATUSES
        ],
    )


class CaseDispositionForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Disposition",
        choices=[(value, label) for value, label in CaseStatus.choices if value in CLOSED_STATUSES],
    )
    reason = forms.CharField(
        label="Reason", max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class CaseAssignForm(forms.Form):
    assignee = forms.ChoiceField(label="Assigned to", required=False)

    def __init__(self, *args: Any, people: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Nobody"), *people]


class CaseNoteForm(forms.Form):
    text = forms.CharField(label="Note", max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class MergeForm(forms.Form):
    """Other cases to merge into this one: typed numbers and/or ticked search results (both
    are checked by the view: a case the user may not see is "not found", never "secret")."""

    case_numbers = forms.CharField(
        label="Case numbers to merge into this one",
        max_length=500,
        required=False,
        help_text="Separated by commas or spaces, e.g. 12, 40; or search and tick cases below",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        tokens = (data.get("case_numbers") or "").replace(",", " ").split()
        getlist = getattr(self.data, "getlist", None)
        tokens += list(getlist("cases")) if getlist else []
        numbers: list[int] = []
        for token in tokens:
            text = str(token).strip().lstrip("#")
            if not text.isdigit() or len(text) > 12:
                self.add_error("case_numbers", f"“{token}” is not a case number")
                return data
            numbers.append(int(text))
        if not numbers and "case_numbers" not in self.errors:
            self.add_error("case_numbers", "Give at least one other case to merge")
        data["numbers"] = list(dict.fromkeys(numbers))
        return data


class SplitForm(forms.Form):
    reports = forms.MultipleChoiceField(
        label="Reports to move out into a new case",
        choices=[],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick the reports to move out"},
    )

    def __init__(self, *args: Any, reports: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reports"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = reports


class SignInHelpForm(forms.Form):
    """A username on the trust console's sign-ins page (unlock, second-factor reset)."""

    username = forms.CharField(label="Username", max_length=150)
