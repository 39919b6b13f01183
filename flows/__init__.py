"""Prefect flows (see issue 3): thin wrappers over escalation.disagreements."""
