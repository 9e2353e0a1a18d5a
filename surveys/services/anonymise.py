"""Anonymisation: the record everything outside the raw store reads.

Per field, by the XLSForm ``privacy`` tag: ``identifier`` (and device
metadata) is dropped; ``pseudonym`` becomes a keyed HMAC-SHA256 (key
``MTM_PSEUDONYM_KEY``, outside the database); ``location`` is displaced as
the DHS programme does (random direction and distance: 0–2 km in cities,
0–5 km elsewhere, 1 % of rural points up to 10 km) without leaving the
interview's area, or coarsened to the location code; free text is scrubbed
of phone numbers, e-mail addresses, document numbers and the respondent's
own identifying answers where it repeats them. A respondent who
refused consent keeps nothing but the consent answer and the metadata.
Settings per round in ``Round.privacy`` over :data:`DEFAULTS`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from surveys.models import Location, Round
from surveys.services import geo

DEFAULTS: dict[str, Any] = {
    "consent_field": None,
    "consent_value": "yes",
    "gps": "displace",  # or "coarsen"
    "k": 3,
    "small_cell": 10,
    "retention_days": None,
}
DEVICE_METADATA = {"deviceid", "phonenumber", "simserial", "subscriberid", "username", "email"}
METADATA_TYPES = {"start", "end", "today"}
TEXT_TYPES = {"text"}
GEO_TYPES = {"geopoint", "geotrace", "geoshape", "start-geopoint"}


def round_privacy_settings(round_: Round) -> dict[str, Any]:
    return {**DEFAULTS, **(round_.privacy or {})}


@dataclass(frozen=True)
class AnonymisedRecord:
    answers: dict[str, Any]
    consent: bool | None
    respondent_key: str | None


def pseudonym(value: Any) -> str:
    """Keyed HMAC-SHA256 of a normalised answer: stable for one key, unlinkable without it."""
    normal = " ".join(str(value).lower().split())
    return hmac.new(settings.MTM_PSEUDONYM_KEY.encode(), normal.encode(), hashlib.sha256).hexdigest()


def submission_anonymise(*, answers: dict[str, Any], schema: dict[str, Any], config: dict[str, Any],
                         location: Location | None, instance_id: str) -> AnonymisedRecord:
    fields = {f["path"]: f for f in schema.get("fields", [])}
    consent = _consent(answers, config)
    if consent is False:
        kept = {path: value for path, value in answers.items()
                if path == config["consent_field"] or path.startswith("meta/")
                or fields.get(path, {}).get("type") in METADATA_TYPES}
        return AnonymisedRecord(answers=kept, consent=False, respondent_key=_respondent_key(answers, fields))
    released = _record(answers, fields, config=config, location=location, instance_id=instance_id,
                       known=_identifying_words(answers, fields))
    return AnonymisedRecord(answers=released, consent=consent, respondent_key=_respondent_key(answers, fields))


def _consent(answers: dict[str, Any], config: dict[str, Any]) -> bool | None:
    path = config.get("consent_field")
    if not path:
        return None
    value = answers.get(path)
    if value is None:
        return False
    return value == config["consent_value"]


def _identifying_words(answers: dict[str, Any], fields: dict[str, dict[str, Any]]) -> re.Pattern | None:
    """The respondent's own identifying answers (and their words of three
    letters or more), to mask where free text repeats them."""
    words: set[str] = set()
    for path, value in answers.items():
        if fields.get(path, {}).get("privacy") in ("identifier", "pseudonym") and isinstance(value, str):
            words.add(value.strip())
            words.update(w for w in re.split(r"\W+", value) if len(w) >= 3)
    words.discard("")
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _record(answers: dict[str, Any], fields: dict[str, dict[str, Any]], *, config: dict[str, Any],
            location: Location | None, instance_id: str, known: re.Pattern | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in answers.items():
        f = fields.get(path, {})
        if isinstance(value, list) and value and isinstance(value[0], dict):
            out[path] = [_record(item, fields, config=config, location=location, instance_id=f"{instance_id}/{n}",
                                 known=known) for n, item in enumerate(value)]
            continue
        tag, ftype = f.get("privacy"), f.get("type")
        if tag is None and ftype in GEO_TYPES:
            tag = "location"  # an untagged GPS answer is still a place a person was
        if tag == "identifier" or ftype in DEVICE_METADATA:
            continue
        if tag == "pseudonym":
            out[path] = pseudonym(value)
        elif tag == "location" and isinstance(value, str) and ";" in value:
            out[path] = location.code if location else None  # traces and shapes: only where they were
        elif tag == "location" and isinstance(value, str):
            out[path] = (location.code if location else None) if config["gps"] == "coarsen" else displace(
                value, location=location, seed=f"{instance_id}:{path}")
        elif ftype in TEXT_TYPES and isinstance(value, str):
            out[path] = scrub(known.sub("[identifier]", value) if known else value)
        else:
            out[path] = value
    return out


def _respondent_key(answers: dict[str, Any], fields: dict[str, dict[str, Any]]) -> str | None:
    """HMAC of the pseudonym answers by question name, so one person's
    interviews link across rounds and form versions."""
    values = sorted((fields[p]["name"], " ".join(str(v).lower().split())) for p, v in answers.items()
                    if fields.get(p, {}).get("privacy") == "pseudonym" and v not in (None, ""))
    if not values:
        return None
    message = json.dumps(values, ensure_ascii=False).encode()
    return hmac.new(settings.MTM_PSEUDONYM_KEY.encode(), message, hashlib.sha256).hexdigest()


# --- GPS --------------------------------------------------------------------------------------

def displace(point: str, *, location: Location | None, seed: str) -> str:
    """The point moved in a random direction by a random distance (DHS rules),
    kept inside ``location``'s area when it started there. The draw is seeded
    by a keyed hash of the submission, so reprocessing gives the same point."""
    parts = point.split()
    lat, lon = float(parts[0]), float(parts[1])
    digest = hmac.new(settings.MTM_PSEUDONYM_KEY.encode(), seed.encode(), hashlib.sha256).digest()
    rng = random.Random(digest)
    urban = bool(location and location.is_urban)
    limit = 2.0 if urban else (10.0 if rng.random() < 0.01 else 5.0)
    started_inside = location is not None and geo.has_area(location) and geo.inside(location, lat, lon)
    for _ in range(100):
        new_lat, new_lon = geo.move(lat, lon, rng.uniform(0.0, limit), rng.uniform(0.0, 2 * math.pi))
        if not started_inside or geo.inside(location, new_lat, new_lon):
            return f"{new_lat:.6f} {new_lon:.6f}"
    new_lat, new_lon = geo.centre(location)  # a point at the very edge of its area: give the area's centre
    return f"{new_lat:.6f} {new_lon:.6f}"


# --- free text --------------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Passports and ID cards: KZ N1234567, UZ AA1234567, KG AN1234567 / ID1234567, RU "45 12 345678" (digits below).
_DOCUMENT = re.compile(r"(?<![\w])[A-ZА-ЯЁ]{1,2}[ -]?\d{7,9}(?![\w])", re.IGNORECASE)
# Phone numbers and long digit runs (IIN/PIN, passport series): 9 to 15 digits with separators.
_NUMBER = re.compile(r"(?<![\w+])\+?\(?\d(?:[\s().-]*\d){8,14}(?![\w])")


def scrub(text: str) -> str:
    """Mask e-mail addresses, document numbers and phone numbers in free text."""
    text = _EMAIL.sub("[email]", text)
    text = _DOCUMENT.sub("[document]", text)
    return _NUMBER.sub("[number]", text)
