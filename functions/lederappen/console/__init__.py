"""The staff console: server-rendered pages for Lederne's staff, over the admin API's own code."""
