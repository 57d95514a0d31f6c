"""Text as a person reads it, for comparing against restricted words: Unicode compatibility forms
(fullwidth "ｓｎａｐ"), case, accents, invisible characters (zero-width space, soft hyphen) and letters that
look alike in other scripts (Cyrillic "ѕ", Greek "ο") are folded away."""

import re
import unicodedata

# Letters of other scripts that read as a Latin letter (the common part of Unicode's confusables).
_LOOKALIKES = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "з": "3",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "ԁ": "d",
        "һ": "h",
        "ӏ": "l",
        "ԛ": "q",
        "ԝ": "w",
        "ѵ": "v",
        "ү": "y",
        "ɡ": "g",
        "ɑ": "a",
        # Greek
        "α": "a",
        "β": "b",
        "γ": "y",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "ϲ": "c",
        "ϳ": "j",
        # Latin variants and symbols
        "ı": "i",
        "ł": "l",
        "ø": "o",
        "ß": "ss",
        "ſ": "s",
    }
)
_SEPARATORS = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """NFKC, case-folded, accents and invisible characters removed, look-alike letters folded to Latin."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Me", "Cf", "Cc") or ch in "\n\t")
    return unicodedata.normalize("NFC", text.translate(_LOOKALIKES))


def compact(text: str) -> str:
    """fold() with every space, punctuation and underscore taken out ("snap_chat" -> "snapchat")."""
    return _SEPARATORS.sub("", fold(text))
