"""Ports for the servers that tests and benchmarks start, by number, in other threads or
processes.

`bind(("127.0.0.1", 0))` hands out a port from the kernel's ephemeral range, the range it
also draws from for every outgoing connection. Between the probe closing its socket and the
server binding the number, a PostgreSQL or HTTP client could take that port; CI saw it
("address already in use", a test server that never answered). A port below that range is
only ever taken by a listener asking for it by number, so this picks one there at random
and checks that it is free.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_SPAN = 10_000


def free_port() -> int:
    first_ephemeral = _first_ephemeral_port()
    low = max(1024, first_ephemeral - _SPAN)
    for _ in range(200):
        port = random.randrange(low, first_ephemeral)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port from {low} to {first_ephemeral - 1}")


def _first_ephemeral_port() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default, and close to other systems' ranges
