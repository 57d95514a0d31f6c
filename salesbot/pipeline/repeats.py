"""Never the same line twice to a fan: what counts as "the same line", and which lines a fan already had.

A fan who gets one line again sees a loop, not a person. Lines are compared normalised (case, spacing and
the fan's own name do not make a line new), so "hey John 💕" and "Hey  john 💕" are one line.
"""
import re


def normalise(text: str, fan_name: str = "") -> str:
    """The line as a fan would recognise it: case, spacing and the fan's name left out."""
    out = (text or "").casefold()
    name = (fan_name or "").strip().casefold()
    if name:
        out = re.sub(r"(?<!\w)" + re.escape(name) + r"(?!\w)", "{name}", out)
    return " ".join(out.split())
