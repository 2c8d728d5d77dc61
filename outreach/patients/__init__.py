"""Patients: enrolment rules (the person's and the plan's columns), the CSV file and the upsert
it feeds, uploads, the stored plan, the admin form and edits, consent."""
