"""outreach: SMS reminders and two-way outreach for PT clinics."""
