"""What staff read and act on, with no HTTP and no terminal output: Today, escalations, the
message log, patients, the report."""
