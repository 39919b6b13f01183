"""The directory of people: who holds which role, deputies and absence, owner resolution
(people), the CSV rows of both scopes and the board's admin forms and gap warnings (admin).
May import rules, store and settings."""
