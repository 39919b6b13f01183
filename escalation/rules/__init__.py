"""The rules as data and pure functions: policies and their pinned versions, the working-day
calendar, the state machine, the fixed vocabulary (roles, outcomes, categories), errors.
Imports nothing of the project but itself: no database, no settings, no I/O."""
