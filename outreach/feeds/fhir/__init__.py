"""Appointments read from the clinic's EHR as FHIR R4 resources: `client` searches
`Appointment` since a watermark with its patients included and follows the pages, `mapping`
turns each Appointment and its Patient into a `FeedAppointment`, and `sync` applies them a
page per transaction and moves the watermark. docs/fhir.md says how to set it up."""
