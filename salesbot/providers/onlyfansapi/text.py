"""Message text both ways: the provider's HTML to the plain text the pipeline reads (safety screening,
signals, the prompt), and our plain text to HTML the platform shows as written."""

import html
import re
from html.parser import HTMLParser

BREAKS = {"br", "p", "div", "li"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def html_to_text(markup: str) -> str:
    """What the fan wrote, without tags and entities: "<p>hi &amp; bye</p>" -> "hi & bye"."""
    if "<" not in markup and "&" not in markup:
        return markup.strip()
    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n")]
    return "\n".join(line for line in lines if line)


def text_to_html(text: str) -> str:
    """Our text as the platform's HTML: "<", ">" and "&" escaped, newlines as <br>."""
    return html.escape(text, quote=False).replace("\n", "<br>")
