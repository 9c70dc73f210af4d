"""Explainable risk scoring for cases: pure Python + numpy, no Django.

Modules: ``engine`` (logistic score with exact per-feature explanations), ``features`` (report
cases to a feature matrix and the default config), ``matching`` (vectorised screening-list name
and address matching), ``screening_formats`` (CSL / OFAC SDN parsers), ``linkage`` (record
linkage of reports into cases), ``grouping`` (its older interface), ``synthetic`` (seeded
benchmark generator), ``metrics`` (ranking metrics and baselines), ``offline`` (JSON-lines in,
ranked cases out) and ``domain`` (the only door to ``exportcontrol``).
"""
