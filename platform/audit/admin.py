"""The audit log is not in the admin: auditors read it at /audit/, scoped by their clearance."""
