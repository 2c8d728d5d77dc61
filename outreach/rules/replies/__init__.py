"""What a patient's reply means, pure: the reply rules (`language.py`, read from
templates/replies/ by `rulefile.py`), a reply read by them (`spelling.py`, `reading.py`), the
safety screen (`screen.py`, `pain.py`) and the conversation (`outcome.py`, `keywords.py`,
`answers.py`, `conversation.py`).

`outreach.replies` stores replies and applies what these modules decide.
"""
