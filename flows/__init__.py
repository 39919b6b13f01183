"""Prefect flows: thin, scheduled wrappers around the domain (escalation.casework.sweep, .delivery,
.digest). Deployments are defined in flows/deployments.py (embedded) and prefect.yaml
(production workers)."""
