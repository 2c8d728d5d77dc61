"""Appointments from the clinic's own systems: HL7 v2 scheduling messages over MLLP
(feeds/hl7/) and FHIR R4 Appointment resources (feeds/fhir/). Whatever the feed, each
appointment becomes a `FeedAppointment` and is applied by feeds/appointments.py, the one
place that turns the clinic's schedule into outreach's sessions and their reminders."""
