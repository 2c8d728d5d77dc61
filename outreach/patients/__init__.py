"""Patients: enrolment rules, the CSV file, the admin form and edits, consent."""
