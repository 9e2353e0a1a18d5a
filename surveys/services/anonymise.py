"""Anonymisation: the record everything outside the raw store reads.

Per field, by the XLSForm ``privacy`` tag: ``identifier`` (and device
metadata) is dropped; ``pseudonym`` becomes a keyed HMAC-SHA256 (key
``MTM_PSEUDONYM_KEY``, outside the database); ``location`` is displaced as
the DHS programme does (random direction and distance: 0–2 km in cities,
0–5 km elsewhere, 1 % of rural points up to 10 km), but never less than the
round's ``min_displacement_km`` (0.5 km), without leaving the interview's
area, or coarsened to the location code; free text is scrubbed of phone
numbers, e-mail addresses, document numbers and the respondent's
own identifying answers where it repeats them. A respondent who
refused consent keeps nothing but the consent answer and the metadata.
Settings per round: :class:`surveys.round_settings.PrivacySettings` (``Round.privacy``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

from django.conf import settings

from surveys.form_schema import FormSchema, SchemaField, field_value
from surveys.models import Location
from surveys.round_settings import PrivacySettings
from surveys.services import geo

#: The defaults of ``Round.privacy`` by key, read-only (the settings themselves are a PrivacySettings).
DEFAULTS: Mapping[str, Any] = MappingProxyType(asdict(PrivacySettings()))
DEVICE_METADATA = {"deviceid", "phonenumber", "simserial", "subscriberid", "username", "email"}
METADATA_TYPES = {"start", "end", "today"}
#: String answers kept as they are: choice names, dates and times.
VERBATIM_TYPES = {"select_one", "select_multiple", "rank", "date", "dateTime", "time", "start", "end", "today"}
GEO_TYPES = {"geopoint", "geotrace", "geoshape", "start-geopoint"}


@dataclass(frozen=True)
class AnonymisedRecord:
    answers: dict[str, Any]
    consent: bool | None
    respondent_key: str | None


def normal_text(value: Any) -> str:
    """An answer as compared for pseudonyms and duplicates: lower case, single spaces."""
    return " ".join(str(value).lower().split())


def keyed_hash(message: str | bytes) -> str:
    """HMAC-SHA256 with the pseudonym key (outside the database)."""
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(settings.MTM_PSEUDONYM_KEY.encode(), data, hashlib.sha256).hexdigest()


def pseudonym(value: Any) -> str:
    """Keyed hash of a normalised answer: stable for one key, unlinkable without it."""
    return keyed_hash(normal_text(value))


def submission_anonymise(*, answers: dict[str, Any], schema: FormSchema, config: PrivacySettings,
                         areas: list[Location], instance_id: str) -> AnonymisedRecord:
    """``areas``: where the interview may have been — its answered location,
    else the enumerator's assigned ones; GPS stays inside the one holding it."""
    fields = {f["path"]: f for f in schema.get("fields", [])}
    consent = interview_consent(answers, fields, config)
    if consent is False:
        # Nothing derived from the answers either: no respondent key.
        kept = {path: value for path, value in answers.items()
                if path == config.consent_field or path.startswith("meta/")
                or field_value(fields, path, "type") in METADATA_TYPES}
        return AnonymisedRecord(answers=kept, consent=False, respondent_key=None)
    released = _record(answers, fields, config=config, areas=areas, instance_id=instance_id,
                       known=_identifying_words(answers, fields))
    return AnonymisedRecord(answers=released, consent=consent, respondent_key=_respondent_key(answers, fields))


def interview_consent(answers: dict[str, Any], fields: dict[str, SchemaField],
                      config: PrivacySettings) -> bool | None:
    """True or False where the round's consent question was answered; None
    where the round names none, the form has no such question, or it is blank."""
    path = config.consent_field
    if not path or path not in fields or answers.get(path) in (None, ""):
        return None
    return bool(answers[path] == config.consent_value)


def _identifying_words(answers: dict[str, Any], fields: dict[str, SchemaField]) -> re.Pattern[str] | None:
    """The respondent's own identifying answers (and their words of three
    letters or more), to mask where free text repeats them."""
    words: set[str] = set()
    for path, value in answers.items():
        if field_value(fields, path, "privacy") in ("identifier", "pseudonym") and isinstance(value, str):
            words.add(value.strip())
            words.update(w for w in re.split(r"\W+", value) if len(w) >= 3)
    words.discard("")
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _record(answers: dict[str, Any], fields: dict[str, SchemaField], *, config: PrivacySettings,
            areas: list[Location], instance_id: str, known: re.Pattern[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in answers.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            out[path] = [_record(item, fields, config=config, areas=areas, instance_id=f"{instance_id}/{n}",
                                 known=known) for n, item in enumerate(value)]
            continue
        tag, ftype = field_value(fields, path, "privacy"), field_value(fields, path, "type")
        if ftype in GEO_TYPES and tag != "identifier":
            tag = "location"  # any GPS answer is a place a person was
        if tag == "identifier" or ftype in DEVICE_METADATA:
            continue
        if tag == "pseudonym":
            out[path] = pseudonym(value)
        elif tag == "location" and isinstance(value, str):
            area = _area_of(value, areas)
            if ";" in value or config.gps == "coarsen":  # traces and shapes: only where they were
                out[path] = area.code if area else None
            else:
                out[path] = displace(value, location=area, seed=f"{instance_id}:{path}",
                                     min_km=config.min_displacement_km)
        elif isinstance(value, str) and ftype not in VERBATIM_TYPES and not path.startswith("meta/"):
            # Text, barcodes, calculations, hidden values: anything a person or a formula may have written.
            out[path] = scrub(known.sub("[identifier]", value) if known else value)
        else:
            out[path] = value
    return out


def _respondent_key(answers: dict[str, Any], fields: dict[str, SchemaField]) -> str | None:
    """HMAC of the pseudonym answers by question name, so one person's
    interviews link across rounds and form versions."""
    values = sorted((fields[p]["name"], normal_text(v)) for p, v in answers.items()
                    if field_value(fields, p, "privacy") == "pseudonym" and v not in (None, ""))
    if not values:
        return None
    return keyed_hash(json.dumps(values, ensure_ascii=False))


# --- GPS --------------------------------------------------------------------------------------

def _area_of(value: str, areas: list[Location]) -> Location | None:
    """The candidate area holding the (first) point, else the first candidate."""
    try:
        lat, lon = (float(x) for x in value.split(";")[0].split()[:2])
    except ValueError:
        return areas[0] if areas else None
    holding = [a for a in areas if geo.has_area(a) and geo.inside(a, lat, lon)]
    found = holding or areas
    return found[0] if found else None


def displace(point: str, *, location: Location | None, seed: str,
             min_km: float = PrivacySettings.min_displacement_km) -> str:
    """The point moved in a random direction by a random distance (DHS rules) of at least ``min_km``,
    kept inside ``location``'s area when it started there. The draw is seeded by a keyed hash of the
    submission, so reprocessing gives the same point. Where no draw stays inside the area (a point at its
    very edge) the area's centre is given, if it is at least ``min_km`` away; else the last draw (the
    least distance holds before the area)."""
    parts = point.split()
    lat, lon = float(parts[0]), float(parts[1])
    rng = random.Random(keyed_hash(seed))
    urban = bool(location and location.is_urban)
    limit = 2.0 if urban else (10.0 if rng.random() < 0.01 else 5.0)
    least = min(min_km, limit)
    new_lat, new_lon = geo.move(lat, lon, rng.uniform(least, limit), rng.uniform(0.0, 2 * math.pi))
    if location is None or not (geo.has_area(location) and geo.inside(location, lat, lon)):
        return f"{new_lat:.6f} {new_lon:.6f}"
    for _ in range(100):  # it started inside its area: draw until the point stays there
        if geo.inside(location, new_lat, new_lon):
            return f"{new_lat:.6f} {new_lon:.6f}"
        new_lat, new_lon = geo.move(lat, lon, rng.uniform(least, limit), rng.uniform(0.0, 2 * math.pi))
    centre_lat, centre_lon = geo.centre(location)  # a point at the very edge of its area
    if geo.distance_km(lat, lon, centre_lat, centre_lon) >= least:
        new_lat, new_lon = centre_lat, centre_lon
    return f"{new_lat:.6f} {new_lon:.6f}"


# --- free text --------------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Passports and ID cards: KZ N1234567, UZ AA1234567, KG AN1234567 / ID1234567, "паспорт № 1234567";
# RU "45 12 345678" is caught as a digit run below.
_DOCUMENT = re.compile(r"(?<![\w])[A-ZА-ЯЁ]{1,2}[ -]?\d{7,9}(?!\d)|(?:№|No\.?|#)\s*\d{5,}", re.IGNORECASE)
# Phone numbers and long digit runs (IIN/PIN, passport series): 9 to 15 digits with separators.
_NUMBER = re.compile(r"(?<![\w+])\+?\(?\d(?:[\s().-]*\d){8,14}(?!\d)")
# Local numbers written in groups: 272-12-34, 2 72 12 34.
_LOCAL = re.compile(r"(?<![\w])\d{1,3}(?:[ -]\d{2}){2,3}(?!\d)")


def scrub(text: str) -> str:
    """Mask e-mail addresses, document numbers and phone numbers in free text."""
    text = _EMAIL.sub("[email]", text)
    text = _DOCUMENT.sub("[document]", text)
    text = _NUMBER.sub("[number]", text)
    return _LOCAL.sub("[number]", text)
