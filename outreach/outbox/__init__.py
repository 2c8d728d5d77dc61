"""The outbox: the only writer of reminder rows.

`writers` writes what planning decided; `commands` change rows for the rest of the house
(request consent, supersede, replan, skip, cancel and restore an appointment's reminders);
`claims` hand them to the senders (claim, release, recover, finish, requeue). Whoever else
needs a reminder row changed calls a function here."""
