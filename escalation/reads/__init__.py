"""Read-only views of the record: the board dashboard, the case file, the report figures and
tables (reports), their charts and the CLI's plain-text report. May import casework, directory,
rules, store and settings; writes nothing but view events."""
