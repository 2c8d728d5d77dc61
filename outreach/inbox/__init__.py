"""The staff side of the conversation: the inbox's conversations (threads.py), texts staff
write to one patient (texting.py) or to many (broadcasts.py), and quick replies
(quickreplies.py). Writers of their own tables; staff texts reach the outbox through
outbox/commands.py and go out through the dispatcher like every reminder."""
