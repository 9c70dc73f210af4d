"""The feature catalogue: name, group, hand-set weight (log-odds), neutral prior, meaning.

Weights are design priors in log-odds, written from the domain reference
(``shared/reference/export-controls-and-scoring.md``, table 3.7 where it has an entry) before any
benchmark was run; fitted configurations start from them (``riskscore.fit``). Every feature is 0
without a risk signal and grows with risk in [0, 1], except the category indicators, which are the
per-category intercepts (how a category's scores are calibrated against the others, see the
README).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATEGORIES", "FEATURES", "GROUP_LABELS", "RED_FLAGS", "FeatureSpec"]

CATEGORIES = (
    "chip_diversion",
    "military_ai",
    "cloud_compute",
    "model_weights",
    "ai_incident",
    "other",
)

RED_FLAGS = (
    "freight_forwarder_consignee",
    "residential_address",
    "third_country_payment",
    "refused_installation",
    "new_company",
    "evasive_end_use",
    "cash_payment",
    "unusual_routing",
    "mismatched_end_use",
    "reluctant_information",
)

#: Explanation groups, in the order the case page shows them; the queue colours bars by group.
GROUP_LABELS: dict[str, str] = {
    "category": "Category prior",
    "screening": "Screening lists",
    "geography": "Destination and route",
    "item": "Items and magnitude",
    "red_flags": "Red flags",
    "network": "Entity network",
    "source": "Sources and corroboration",
    "military_ai": "Military AI",
    "cloud_compute": "Cloud compute",
    "model_weights": "Model weights",
    "ai_incident": "AI incident",
}


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    group: str
    weight: float
    neutral: float
    description: str  # meaning; range; where the weight idea comes from


def _f(name: str, group: str, weight: float, neutral: float, description: str) -> FeatureSpec:
    return FeatureSpec(name, group, weight, neutral, description)


_RF_WEIGHTS = {
    "freight_forwarder_consignee": (0.5, "ref 3.7 #12"),
    "residential_address": (0.5, "ref 3.7 #10"),
    "third_country_payment": (0.45, "ref 3.7 #14"),
    "refused_installation": (0.45, "ref 3.7 #15"),
    "new_company": (0.4, "ref 3.7 #9"),
    "evasive_end_use": (0.5, "ref 3.7 #16"),
    "cash_payment": (0.4, "ref 3.7 #14"),
    "unusual_routing": (0.35, "KYC ref 3.6a"),
    "mismatched_end_use": (0.5, "KYC ref 3.6a"),
    "reluctant_information": (0.35, "KYC ref 3.6a"),
}

FEATURES: tuple[FeatureSpec, ...] = (
    # per-category intercepts: each category's base rate among reported cases (design)
    _f("cat_chip_diversion", "category", 0.0, 0.0, "case is about chip diversion; {0,1}"),
    _f("cat_military_ai", "category", 0.4, 0.0, "case is about military-AI development; {0,1}"),
    _f("cat_cloud_compute", "category", 0.3, 0.0, "case is about cloud-compute misuse; {0,1}"),
    _f("cat_model_weights", "category", 0.5, 0.0, "case is about model-weights proliferation"),
    _f("cat_ai_incident", "category", 0.5, 0.0, "case is about an autonomous-AI incident"),
    _f("cat_other", "category", 0.6, 0.0, "case of another kind; {0,1}"),
    # screening lists
    _f("screening_match", "screening", 2.0, 0.03,
       "best calibrated name match of a party to the screening list (distinctive tokens must "
       "agree, rarity-weighted); [0,1]; ref 3.7 #1/#2"),
    _f("screening_exact", "screening", 1.0, 0.01,
       "a party's name equals a listed name or alias after normalisation; {0,1}; ref 3.7 #1"),
    _f("listed_address_link", "screening", 1.0, 0.03,
       "a party address matches a listed address, x rarity 1/sqrt(orgs there); ref 3.7 #4/#19"),
    _f("listed_officer_link", "screening", 1.5, 0.02,
       "an officer or shareholder matches a listed name (calibrated); ref 3.7 #3 (Affiliates)"),
    # destination and route
    _f("declared_vs_destination", "geography", 2.2, 0.1,
       "declared end-user country differs from the final destination or the last route country "
       "(BIS red flag); {0,1}; ref 3.6a"),
    _f("end_user_mismatch", "geography", 1.0, 0.0,
       "a suspected end user other than the declared one: 1 other country, 0.5 same; KYC"),
    _f("final_destination_risk", "geography", 1.2, 0.2,
       "final destination: 1 D:5/Macau, 0.3 D:1/D:4 or hub, lower elsewhere; ref 1.3/3.7 #7"),
    _f("transit_risk", "geography", 0.4, 0.2,
       "highest transit risk of intermediate route, consignee and intermediary countries"),
    _f("transshipment_hub", "geography", 0.15, 0.0,
       "a known transshipment hub on the route; {0,1}; small on purpose: legitimate buyers "
       "sit in hubs too (ref 1.7)"),
    _f("route_hops", "geography", 0.3, 0.1, "(distinct route countries - 2) / 3; [0,1]; KYC"),
    # items and magnitude
    _f("controlled_item", "item", 0.6, 0.5,
       "1 if 3A090.a (TPP >= 4,800 or catalogue verdict), 0.6 if .b; ref 3.7 #5"),
    _f("h100e_log", "item", 0.5, 0.3,
       "log10(1 + H100-equivalents) / 5 of the largest report; ref 3.7 #6 magnitude"),
    _f("prc_accelerator", "item", 0.5, 0.0, "Ascend 910B/C/D involved; GP10 ref 3.7 #18"),
    _f("value_anomaly", "item", 0.6, 0.15,
       "declared value per unit against the market price: |log10 ratio| / log10 4; ref 3.7 #21"),
    _f("quantity_vs_buyer", "item", 0.7, 0.0,
       "large quantity (log10 H100e / 3) from a buyer with small-buyer signs (residential, new, "
       "no business background); BIS May 2025"),
    _f("serial_reuse", "item", 1.2, 0.0, "an item serial also appears in another case; {0,1}"),
    # red flags
    *(
        _f(f"rf_{flag}", "red_flags", weight, 0.0,
           f"red flag, noisy-OR over origins of 0.5 + 0.5 x quality; [0,1]; {source}")
        for flag, (weight, source) in _RF_WEIGHTS.items()
    ),
    _f("red_flag_count", "red_flags", 0.8, 0.0, "distinct red flags / 5, capped at 1; design"),
    # entity network
    _f("mass_registration_address", "network", 0.2, 0.05,
       "1 - 1/sqrt(orgs at the party address in the batch); formation agents (FATF-Egmont)"),
    _f("shell_intermediary", "network", 0.5, 0.0, "intermediary is a shell (1) or reseller (0.5)"),
    _f("intermediary_count", "network", 0.3, 0.0, "min(distinct intermediaries, 4) / 4; layering"),
    # sources
    _f("source_quality", "source", 0.8, 0.29, "best Admiralty quality rel x cred / A1; ref 3.1"),
    _f("corroboration", "source", 0.8, 0.0, "1 - 1/independent origin nodes; ref 3.3"),
    _f("recency", "source", 0.4, 0.5, "2^(-age / half-life) of the latest date; ref 3.4"),
    _f("missing_fields", "source", 0.2, 0.0,
       "share of the category's key fields absent everywhere; weak: honest reports miss fields"),
    # military AI
    _f("training_compute_1e25", "military_ai", 0.8, 0.4,
       "log10(FLOP) - 24 clipped (1 at 1e25, EU AI Act Art. 51); ref 1.5"),
    _f("training_compute_1e26", "military_ai", 0.6, 0.2,
       "log10(FLOP) - 25 clipped (1 at 1e26, former 4E091); ref 1.5"),
    _f("military_capability", "military_ai", 0.8, 0.0,
       "capability names targeting, autonomy, C2, ISR, cyber, unmanned; ref 3.7 (BIS concerns)"),
    _f("military_end_user", "military_ai", 1.0, 0.0,
       "organisation or parent is military (name or type) or on a military end-user list"),
    _f("controlled_chips_used", "military_ai", 0.6, 0.0,
       "3A090.a or PRC 3A090-class chips used (1), 3A090.b (0.6)"),
    _f("cluster_size", "military_ai", 0.5, 0.2,
       "accelerators in the cluster: log10(n) / 3 capped (1 at 1,000+)"),
    _f("linked_diversion", "military_ai", 1.0, 0.0,
       "organisation is a party of a chip-diversion case in the same batch; {0,1}"),
    # cloud compute
    _f("cloud_training_flop", "cloud_compute", 0.8, 0.3,
       "GPU-hours x per-GPU dense FLOP/s x 40% utilisation x 3600 s: log10 - 23, 1 at 1e25"),
    _f("cloud_customer_risk", "cloud_compute", 1.0, 0.2,
       "customer or beneficial owner in D:5/Macau (1) or D:1/D:4 (0.3); BIS May 2025"),
    _f("cloud_layers", "cloud_compute", 0.6, 0.0,
       "reseller / shell layers between provider and customer: min(n, 2) / 2"),
    _f("distillation", "cloud_compute", 1.0, 0.0,
       "large API or inference volume against a frontier model (distillation); {0, 0.5, 1}"),
    # model weights
    _f("weights_compute", "model_weights", 1.0, 0.3,
       "the model's training compute: log10(FLOP) - 25 clipped, 1 at 1e26 (4E091)"),
    _f("weights_channel", "model_weights", 1.2, 0.3,
       "leak or theft 1, unlicensed transfer 0.8, sale offer 0.6, open release 0.1"),
    _f("weights_recipient_risk", "model_weights", 1.0, 0.2,
       "recipient country: D:5/Macau 1, D:1/D:4 0.3; listed recipient 1"),
    # AI incidents
    _f("incident_capabilities", "ai_incident", 1.5, 0.2,
       "demonstrated self-replication, vulnerability exploitation, detection evasion, "
       "resource acquisition: share of the four (ref 1.7, arXiv 2412.12140)"),
    _f("incident_scale", "ai_incident", 0.6, 0.1, "instances or hosts reached: log10(1+n) / 3"),
    _f("incident_actor", "ai_incident", 0.8, 0.2,
       "actor: a state actor or a D:5 organisation 1, a listed one 1, unknown neutral"),
)  # fmt: skip
