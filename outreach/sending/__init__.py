"""Sending: claim due reminders, check the guards, render, send and record; pages to on-call."""
