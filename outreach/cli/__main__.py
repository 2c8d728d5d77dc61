"""`python -m outreach.cli` runs the same command as `outreach`."""

from outreach.cli.main import main

main()
