"""Persistence: the engine and sessions (db), the tables (models), the schema and its Alembic
migrations. May import rules (for vocabulary) and settings; nothing above."""
