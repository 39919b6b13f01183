"""The web service: JSON API for agency systems and the pages behind emailed links."""
