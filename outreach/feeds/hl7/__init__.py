"""HL7 v2 scheduling messages (SIU) over MLLP: the listener (listener.py), the messages
stored raw and handled (store.py), the parser (parse.py, with header.py and timestamps.py)
and the acknowledgments (ack.py)."""
