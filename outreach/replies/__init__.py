"""Replies: stored raw first, read by the rules, then acted on; and delivery status callbacks."""
