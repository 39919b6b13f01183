"""Prefect flows: thin, scheduled wrappers around the domain (escalation.sweep, .delivery,
.digest). Deployments are defined in flows/deployments.py (embedded) and prefect.yaml
(production workers)."""
