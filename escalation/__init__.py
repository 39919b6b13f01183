"""Resolving professional disagreements about a child's safety: on time, on the record."""
