"""What members read about mentoring: the reasons of a proposal and the direct messages.

Messages are sensitive (the push shows only a neutral line; the text is in the inbox) and
name nobody: the app shows who, and only to the two members concerned.
"""

from __future__ import annotations

REASONS = {
    "shared_topics": {"nb": "Dere har temaer felles", "en": "You share topics"},
    "same_industry": {"nb": "Dere er i samme bransje", "en": "You work in the same industry"},
    "digital": {"nb": "Dere kan begge møtes digitalt", "en": "You can both meet online"},
    "same_county": {
        "nb": "Dere kan møtes fysisk i samme fylke",
        "en": "You can meet in person in the same county",
    },
    "more_experienced": {
        "nb": "Mentoren har mer ledererfaring",
        "en": "The mentor has more management experience",
    },
    "shared_language": {"nb": "Dere har et felles språk", "en": "You share a language"},
}

_LINK = "lederappen://mentoring"


def _draft(title_nb: str, title_en: str, body_nb: str, body_en: str) -> dict:
    return {
        "category": "mentor_updates",
        "title": {"nb": title_nb, "en": title_en},
        "body": {"nb": body_nb, "en": body_en},
        "deep_link": _LINK,
        "sensitive": True,
    }


def proposed(role: str) -> dict:
    if role == "mentee":
        return _draft(
            "Vi har funnet en mentor til deg",
            "We have found a mentor for you",
            "Se forslaget og hvorfor dere passer sammen, og svar innen 14 dager.",
            "See the proposal and why you are a good fit, and answer within 14 days.",
        )
    return _draft(
        "Vi har funnet en mentee til deg",
        "We have found a mentee for you",
        "Se forslaget og hvorfor dere passer sammen, og svar innen 14 dager.",
        "See the proposal and why you are a good fit, and answer within 14 days.",
    )


def accepted() -> dict:
    return _draft(
        "Dere har sagt ja til hverandre",
        "You have both said yes",
        "Mentorskapet er i gang. Når dere begge har samtykket til å dele "
        "kontaktopplysninger, ser dere dem i appen.",
        "Your mentorship has started. When you have both consented to sharing "
        "contact details, you will see them in the app.",
    )


def declined() -> dict:
    return _draft(
        "Mentorforslaget ble ikke noe av",
        "The mentor proposal did not go ahead",
        "Denne gangen ble det ikke et par. Vi foreslår noen andre i neste runde.",
        "It was not a match this time. We will propose someone else in the next round.",
    )


def expired() -> dict:
    return _draft(
        "Mentorforslaget er utløpt",
        "The mentor proposal has expired",
        "Svarfristen gikk ut. Vi foreslår noen andre i neste runde.",
        "The time to answer ran out. We will propose someone else in the next round.",
    )


def withdrawn() -> dict:
    return _draft(
        "Mentorforslaget er trukket",
        "The mentor proposal was withdrawn",
        "Den andre har trukket seg fra mentorprogrammet. Vi foreslår noen andre i neste runde.",
        "The other member left the mentor programme. We will propose someone else "
        "in the next round.",
    )


def ended() -> dict:
    return _draft(
        "Mentorskapet er avsluttet",
        "The mentorship has ended",
        "Den andre har avsluttet mentorskapet. Du kan gi en kort, privat tilbakemelding i appen.",
        "The other member ended the mentorship. You can give short, private feedback in the app.",
    )
