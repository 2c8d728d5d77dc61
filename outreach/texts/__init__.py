"""Texts: templates rendered into clean, measured, private messages, and checked."""
