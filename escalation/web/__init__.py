"""The web tier: the FastAPI app and its errors, the posted-form check, rate limits, the JSON API,
the pages behind emailed links, raising and sign-in, demo pages, and the board's pages (board/).
May import every package below it; nothing imports the web but the entry points."""
