"""Reports are not in the admin: they carry classified content, and the admin is a technical,
read-only window (see core.adminsite). Analysts read and write them in the web UI and the API,
where every read is scoped by clearance and every change goes through the services."""
