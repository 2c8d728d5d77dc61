"""The admin: server-rendered pages for clinic staff, one module per page."""
