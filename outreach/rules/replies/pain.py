"""Pain scores: a 0-10 score written anywhere in a reply, and the tier it raises."""

from __future__ import annotations

from outreach.rules.replies.reading import Reading
from outreach.rules.vocabulary import Severity

HIGH_PAIN = 7  # pain of 7 or more: urgent
PAIN_RISE = 2  # 2 or more above the patient's usual: routine


def pain_severity(pain: int, baseline: int | None) -> Severity | None:
    """Pain of 7 or more is urgent; 2 or more above the patient's own usual, routine."""
    if pain >= HIGH_PAIN:
        return Severity.URGENT
    if baseline is not None and pain >= baseline + PAIN_RISE:
        return Severity.ROUTINE
    return None


OUT_OF = (["out", "of"], ["of"], ["de"], ["sobre"])


def pain_score(reading: Reading) -> int | None:
    """A 0-10 pain score written anywhere: 'DONE 3', 'pain about 5/10', 'dolor de 3',
    'pain: seven', '8 out of 10'. Numbers over 10 (blood sugar, reps) are not pain."""
    words = reading.words

    def number(index: int) -> int | None:
        if not 0 <= index < len(words):
            return None
        word = words[index]
        if "/" in word:
            top, _, bottom = word.partition("/")
            return int(top) if bottom == "10" and top.isdigit() and int(top) <= 10 else None
        value = int(word) if word.isdigit() else reading.language.numbers.get(word)
        return value if value is not None and value <= 10 else None

    for index, word in enumerate(words):  # "5/10", "5 out of 10", "5 de 10"
        if "/" in word and (value := number(index)) is not None:
            return value
        for link in OUT_OF:
            after = index + 1 + len(link)
            if words[index + 1 : after] == link and words[after : after + 1] == ["10"]:
                value = number(index)
                if value is not None:
                    return value
    cues = reading.find("answer:pain") + reading.find("answer:done")
    for cue in cues:  # "pain 8", "pain is about a 5", "done 3"
        for index in range(cue.end, min(cue.end + 5, len(words))):
            # "done. seven today": the score may open the next sentence, nothing further.
            if reading.sentence[index] != reading.sentence[cue.end - 1] and index > cue.end:
                break
            if (value := number(index)) is not None:
                return value
    for cue in reading.find("answer:pain"):  # "an 8 of pain", "8 de dolor"
        for index in range(max(0, cue.start - 3), cue.start):
            same = reading.sentence[index] == reading.sentence[cue.start]
            if same and (value := number(index)) is not None:
                return value
    return None
