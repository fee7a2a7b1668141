"""User-supplied names (data sets, labels, features, paths) shown as text, never as markdown."""

from __future__ import annotations

import re

# What could turn text into a link, an image, raw HTML, maths, a heading or a table: escaped
# with a backslash (CommonMark allows it before any ASCII punctuation). Parentheses, `_` and `-`
# stay: without `[` they make no link, and `_` inside a word is no emphasis.
_SPECIAL = re.compile(r"([\\\[\]<>$*#|~!])")
# GitHub-style autolinks need no brackets: `http://x`, `www.x`, `a@b.c`.
_AUTOLINK = re.compile(r"(?i)(:)(?=//)|(?<=www)(\.)|(@)")


def safe_message(text: object) -> str:
    """A message (an error, a data set's source) that may quote names from a file: no link or
    image can come from it; `code spans` the library puts in it still show as code."""
    text = " ".join(str(text).split())  # newlines could start a list or a heading
    return _AUTOLINK.sub(lambda m: "\\" + m.group(0), _SPECIAL.sub(r"\\\1", text))


def plain(name: object) -> str:
    """A name (data set, label, feature, path) as markdown that renders as its own text."""
    return safe_message(name).replace("`", "\\`")


def code(name: object) -> str:
    """A name as an inline code span, which renders nothing inside it; backticks, which could
    end the span, become `'`."""
    text = " ".join(str(name).split()).replace("`", "'")
    return f"`{text}`" if text else "` `"
