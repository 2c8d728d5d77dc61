"""outreach demo: a small clinic's week, simulated in seconds (week.py runs it)."""
