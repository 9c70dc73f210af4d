"""Probabilistic record linkage of reports into cases (numpy and the standard library only).

Blocking (``blocking``) finds candidate pairs; each pair is compared field by field with
Fellegi-Sunter log2 weights (``compare``, ``config``), names weighted by token rarity
(``names``); clustering (``cluster``) lets a report join a case only on its evidence against
the whole case, honours analysts' merges and splits, keeps one classification per case and
keeps previous case keys stable. The interface is described in ``cluster_reports``.
"""

from .blocking import blocking_keys
from .cluster import Cluster, Clustering, PairLink, cluster_reports
from .compare import Evidence
from .config import LinkageConfig
from .names import NameStats
from .records import Report, collapse_copies, report_addresses, report_names

__all__ = [
    "Cluster",
    "Clustering",
    "Evidence",
    "LinkageConfig",
    "NameStats",
    "PairLink",
    "Report",
    "blocking_keys",
    "cluster_reports",
    "collapse_copies",
    "report_addresses",
    "report_names",
]
