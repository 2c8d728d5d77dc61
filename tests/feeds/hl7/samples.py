"""The sample messages (tests/feeds/hl7/samples/*.hl7), written as practice-management
systems send them: v2.3 with the start in SCH-11, v2.5.1 with TQ1 and LF line ends and a Z
segment, v2.8 with offsets; each file is bytes as they would come off the wire."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.hl7").read_bytes()


def framed(message: bytes) -> bytes:
    """As MLLP carries it: <VT> message <FS><CR>."""
    return b"\x0b" + message + b"\x1c\r"
