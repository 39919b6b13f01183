"""Who may act: practitioner sign-in and sessions, the board's second factor, agency API keys.
May import outbox (to email sign-in links), directory, rules, store and settings."""
