"""The board's pages: deny-by-default access (auth), the dashboard and case pages (pages), the
directory admin (directory) and the reports (reports). May import everything below the web."""
