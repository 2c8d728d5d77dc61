"""The words a reply is compared with whole, outside the rule files: the carrier keywords
(STOP, START, HELP) and a phone's reactions sent as text; `normalise` makes a reply
comparable with them.
"""

from __future__ import annotations

import re

from outreach.rules.privacy import fold
from outreach.rules.replies.reading import Rules

# Carriers and Twilio treat these as opt-out when they are the whole message.
STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "baja"}
)
# ... and these as opting back in. YES is also consent.
START_WORDS = frozenset({"start", "unstop", "yes", "si"})
HELP_WORDS = frozenset({"help", "info", "ayuda"})
# A reply that starts with one of these in capitals ("STOP my foot is bleeding") asks to stop.
LEADING_STOP = frozenset({"stop", "stopall", "unsubscribe", "optout", "baja"})
REACTION = re.compile(r"^\s*(\w+(?: \w+)?)\s+[\"“”«]")


def normalise(text: str) -> str:
    """Lowercase, no accents, punctuation and stray spaces gone: ' Stop! ' -> 'stop'."""
    folded = fold(text).replace("'", "").replace("\u2019", "")
    return " ".join(re.sub(r"[^\w/]+", " ", folded).split())


def reaction(text: str, rules: Rules) -> str | None:
    """The reaction ('liked', 'le gustó') when a phone sent one as a text, else None."""
    found = REACTION.match(text)
    if found is None:
        return None
    verb = " ".join(fold(found[1]).split())
    for language in rules.languages.values():
        if any(" ".join(p.text.split()) == verb for p in language.section("reaction")):
            return verb
    return None
