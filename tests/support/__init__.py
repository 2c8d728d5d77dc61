"""What the tests share, in one place: harnesses, doubles, seeded clinics and helpers.

Test modules import from here and from conftest.py's fixtures, never from each other."""
