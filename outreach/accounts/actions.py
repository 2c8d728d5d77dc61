"""What staff did, by the name the audit log stores for it (audit_events.action)."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    PATIENT_CREATED = "patient_created"
    PATIENT_UPDATED = "patient_updated"
    PATIENT_PAUSED = "patient_paused"
    PATIENT_RESUMED = "patient_resumed"
    PATIENT_OPTED_OUT = "patient_opted_out"
    PATIENTS_IMPORTED = "patients_imported"
    SESSION_ADDED = "session_added"
    SESSION_CANCELLED = "session_cancelled"
    SESSION_MARKED = "session_marked"  # attended, no-show, cancelled by either side
    SESSION_MOVED = "session_moved"
    SESSION_FROM_FEED = "session_from_feed"  # written by the clinic's system (HL7 or FHIR)
    WAITLIST_ADDED = "waitlist_added"
    WAITLIST_CHANGED = "waitlist_changed"
    WAITLIST_REMOVED = "waitlist_removed"
    ESCALATION_ACKNOWLEDGED = "escalation_acknowledged"
    ESCALATION_RESOLVED = "escalation_resolved"
    REPLY_REVIEWED = "reply_reviewed"
    STAFF_TEXT_SENT = "staff_text_sent"
    BROADCAST_SENT = "broadcast_sent"
    CONVERSATION_ASSIGNED = "conversation_assigned"
    CONVERSATION_CLOSED = "conversation_closed"
    CONVERSATION_REOPENED = "conversation_reopened"
    QUICK_REPLY_SAVED = "quick_reply_saved"
    QUICK_REPLY_DELETED = "quick_reply_deleted"
    SIGN_IN_FAILED = "sign_in_failed"  # no user: the username typed is kept
