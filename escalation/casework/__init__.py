"""What happens to a disagreement: raising (intake), the events that move it (disagreements),
the board's actions, the sweep, the chronology and the engine's health. Functions take `now`,
never commit; may import outbox, directory, rules, store, settings."""
