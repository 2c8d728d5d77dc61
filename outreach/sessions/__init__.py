"""Sessions as a clinic runs them: what became of each (attendance) and what follows."""
