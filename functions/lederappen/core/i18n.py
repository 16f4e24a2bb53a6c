"""Norwegian (bokmål) or English for user-facing text, chosen by Accept-Language."""

from __future__ import annotations

SUPPORTED = ("nb", "en")
_NORWEGIAN = {"nb", "no", "nn", "nb-no", "no-no", "nn-no"}


def negotiate(accept_language: str | None) -> str:
    """Picks 'nb' or 'en' from an Accept-Language header (RFC 9110 q-values); default 'nb'."""
    if not accept_language:
        return "nb"
    best, best_q = "nb", -1.0
    for position, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        q = 1.0
        for p in pieces[1:]:
            p = p.strip()
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        if tag in _NORWEGIAN or tag.split("-")[0] in ("nb", "no", "nn"):
            lang = "nb"
        elif tag.split("-")[0] == "en":
            lang = "en"
        elif tag == "*":
            lang = "nb"
        else:
            continue
        # Earlier entries win ties, as clients list preferences in order.
        if q > best_q:
            best, best_q = lang, q
    return best


def pick(text: dict[str, str], locale: str) -> str:
    return text.get(locale) or text["en"]
