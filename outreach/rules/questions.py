"""The kinds of question our texts ask; a reply may answer any that is still open."""

# Here rather than in outreach.conversation so the command line can offer them as choices
# without loading the reply rules (and rapidfuzz) for every command.
KINDS = ("consent", "session", "foot_check", "foot_followup", "exercise")
