"""Counted nouns for messages people read: logs, CLI lines, dashboard dialogs."""

from __future__ import annotations


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 task``, ``2 tasks`` (``words`` for an irregular plural)."""
    return f"{n} {word if n == 1 else words or word + 's'}"
