"""What is told to whom and its delivery: outbox rows (notifications), emailed links, rendering
and SMTP (mail, delivery), the local mail capture and the board digest. May import casework,
directory, rules, store and settings."""
