"""The outbox: the only writer of reminder rows.

Planning inserts them; commands change them for the rest of the house (request consent, supersede,
skip); claims hand them to the senders (claim, release, recover, finish, requeue). Whoever else
needs a reminder row changed calls a function here."""
