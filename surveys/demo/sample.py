"""Synthetic round-4 submissions of the demo form (``forms/mtm_kz_r4.md``), as
ODK Collect would send them: every element of the form in the form's order,
non-relevant questions present but empty, the dependants repeat once per
dependant (at most 4), ``income_kzt`` calculated, ``meta/instanceID`` last.

Answers follow the form's relevance, constraints and choice filter exactly,
and the round-4 report's figures approximately (83% men, mean age 33 / 38,
63% from Uzbekistan, 44% sending money home, 20% without health services).
Names and phone numbers are invented. ``demo_instances`` is pure: only
``random.Random(seed)`` is drawn from, so one seed gives the same bytes, and a
shorter list is a prefix of a longer one."""

from __future__ import annotations

import datetime as dt
import random
import string
import uuid
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from lxml import etree

from surveys.form_schema import FormSchema
from surveys.services.xlsform import xlsform_convert

K = TypeVar("K", bound=Hashable)

FORM = Path(__file__).parent / "forms" / "mtm_kz_r4.md"
NSMAP = {"jr": "http://openrosa.org/javarosa", "orx": "http://openrosa.org/xforms"}
ALMATY = dt.timezone(dt.timedelta(hours=5))
LOCATIONS = ["KZ-11", "KZ-15", "KZ-19", "KZ-23", "KZ-35", "KZ-47", "KZ-61", "KZ-71", "KZ-75", "KZ-79"]
#: enum01..enum05 are men, enum06..enum15 women (as in ``loader.ENUMERATORS``).
ENUMERATORS = [f"enum{i:02d}" for i in range(1, 16)]
#: Rough built-up area of each location: (lat min, lat max, lon min, lon max, altitude in m).
BOXES = {
    "KZ-11": (53.25, 53.32, 69.33, 69.45, 230), "KZ-15": (50.23, 50.33, 57.10, 57.25, 220),  # Kokshetau, Aktobe
    "KZ-19": (43.84, 43.90, 77.03, 77.12, 480), "KZ-23": (47.07, 47.13, 51.85, 51.97, -20),  # Konaev, Atyrau
    "KZ-35": (49.76, 49.86, 73.03, 73.17, 550), "KZ-47": (43.62, 43.70, 51.13, 51.23, 20),  # Karaganda, Aktau
    "KZ-61": (43.27, 43.33, 68.21, 68.30, 210), "KZ-71": (51.08, 51.20, 71.35, 71.52, 350),  # Turkistan, Astana
    "KZ-75": (43.20, 43.30, 76.85, 77.00, 800), "KZ-79": (42.28, 42.36, 69.55, 69.65, 500),  # Almaty, Shymkent
}
MEMBERS = "vulnerability/household_members"
RELATION = f"{MEMBERS}/member_relation"
EMPLOYED = ("employed_private", "employed_public", "daily_wages", "self_employed")
#: (men, women) first names by country of origin.
NAMES = {
    "uzbekistan": ("Jasur Dilshod Sardor Bekzod Rustam Azizbek Otabek Sherzod Javlon Farrukh Ulugbek Shavkat Akmal "
                   "Doniyor Islom Bobur Sanjar Alisher", "Dilnoza Gulnora Nilufar Shahnoza Madina Zarina Feruza "
                   "Mohira Sevara Malika Nigora Kamola Dildora Munisa"),
    "tajikistan": ("Firdavs Rahmon Faridun Sukhrob Behruz Daler Umed", "Nigina Parvina Tahmina Farzona Manizha"),
    "kyrgyzstan": ("Nurbek Azamat Bakyt Ermek Tilek Adilet Kanat", "Aizhan Nazgul Cholpon Aidai Zhyldyz"),
    "turkmenistan": ("Merdan Serdar Myrat Dovlet Batyr Rovshen", "Ogulgerek Jemal Aynur Maral Gulshat"),
    "russia": ("Aleksandr Dmitry Sergey Andrey Maksim Ivan Artyom Ruslan", "Olga Tatyana Natalia Elena Irina Svetlana"),
    "other": ("Elvin Murad Rashid Ali Taras Vusal", "Leyla Aysel Oksana Mariam Gulnar"),
}
OTHER_COUNTRIES = ["Azerbaijan", "Ukraine", "China", "Afghanistan", "Mongolia", "Georgia", "Belarus", "Turkey", "India"]

#: Weights of single answers; dicts of select_multiple options hold each option's probability.
W: dict[str, dict[str, float]] = {
    "marital": dict(married=55, single=31, divorced=10, widowed=3, engaged=1),
    "education_m": dict(no_formal=.5, primary=1, lower_secondary=34, upper_secondary=19, post_secondary_non_tertiary=30,
                        short_cycle_tertiary=6, bachelor=8, master=1, refuse=.5),
    "education_f": dict(no_formal=1, primary=7, lower_secondary=30, upper_secondary=23, post_secondary_non_tertiary=19,
                        short_cycle_tertiary=11, bachelor=8, master=1),
    "edu_field_m": dict(generic=17, education=8, arts_humanities=2, social_sciences=5, business_law=2,
                        natural_sciences=7, ict=2, engineering=41, agriculture=8, health_welfare=3, services=5),
    "edu_field_f": dict(generic=8, education=33, arts_humanities=12, social_sciences=12, business_law=8,
                        natural_sciences=4, engineering=4, health_welfare=14, services=5),
    "main_provider": dict(yes=47, no=52, refuse=1),
    "country": dict(uzbekistan=63, russia=14, tajikistan=10, turkmenistan=4, kyrgyzstan=4, other=5),
    "emp_before": dict(employed_private=40, employed_public=4, daily_wages=16, self_employed=6, unemployed_seeking=24,
                       unemployed_not_seeking=5, student=4, retired=1),
    "sector_before_m": dict(construction=43, trade=14, services=8, vocational=9, agriculture=5, education=3,
                            engineering=4, ict=3, manufacturing=3, transport=3, healthcare=1, banking=1, tourism=1,
                            other=2),
    "sector_before_f": dict(construction=10, trade=31, services=15, vocational=2, agriculture=16, education=13,
                            manufacturing=2, healthcare=4, banking=1, tourism=3, domestic=3),
    "stay_length": dict(under_1_month=31, months_1_3=21, months_4_6=7, months_7_12=16, years_1_3=13, years_3_5=5,
                        over_5_years=6, refuse=1),
    "stay_expected": dict(yes=65, no=4, dont_remember=17, dont_know=13),
    "intention": dict(circulate=59, stay_kz=32, return_home=7, other_country=1, dont_know=1),
    "intention_timeline": dict(under_1_month=6, months_1_3=27, months_4_6=46, months_7_12=1, over_1_year=2,
                               dont_know=18),
    "reasons_kz": dict(higher_income=.39, proximity=.37, job_access=.19, friends=.18, family=.12,
                       language_culture=.18, diaspora=.14, treatment=.13, safety=.06, documents=.05,
                       work_conditions=.05, human_rights=.03, social_services=.02, education=.02, other=.01),
    "migration_purpose": dict(employment=74, non_employment=22, refuse=4),
    "reasons_other": dict(reunite_family=.6, family_issues=.12, marriage=.04, education=.05, health=.03,
                          persecution=.07, violence=.06, disaster=.01, discrimination=.02, other=.05),
    "emp_status": dict(employed_private=67, employed_public=4, daily_wages=13, self_employed=6, unemployed_seeking=4,
                       unemployed_not_seeking=2, student=2, retired=1, refuse=1),
    "work_time": dict(full_time=85, part_time=13, part_time_forced=1, refuse=1),
    "emp_type": dict(employee=48, dependent_contractor=49, own_account=2, employer=1),
    "emp_type_self": dict(dependent_contractor=5, own_account=80, employer=15),
    "contract": dict(written=65, oral=25, none=9, dont_know=1, refuse=.5),
    "pension": dict(yes=33, no=40, dont_know=22, refuse=5),
    "paid_leave": dict(yes=20, no=73, dont_know=5, refuse=2),
    "sector_now_m": dict(construction=56, trade=20, services=6, vocational=3, agriculture=2, engineering=3, ict=3,
                         manufacturing=2, transport=3, other=2),
    "sector_now_f": dict(construction=8, trade=41, services=23, agriculture=5, education=8, healthcare=3, tourism=5,
                         domestic=5, other=2),
    "job_found": dict(contacts_before=.40, contacts_after=.38, broker_origin=.10, broker_kz=.07, agency_origin=.04,
                      agency_kz=.01, migrant_network=.04, online=.03, direct=.03, other=.01),
    "no_agency": dict(no_need=.7, not_aware=.22, no_trust=.05, bad_experience=.03, bad_feedback=.03,
                      too_expensive=.02, other=.01),
    "challenges": dict(language=.2, contract_mismatch=.14, skills_mismatch=.14, long_hours=.14, family_care=.14,
                       lower_salary=.1, integration=.1, bureaucracy=.07, health=.07, no_support_info=.02,
                       discrimination=.01, other=.03),
    "sufficiency": dict(save=26, no_save=45, essentials_only=15, not_enough=5, dont_know=5, refuse=4),
    "sufficiency_none": dict(essentials_only=30, not_enough=40, dont_know=20, refuse=10),
    "satisfaction": dict(very_satisfied=12, satisfied=50, neutral=28, unsatisfied=4, very_unsatisfied=1,
                         dont_know=3, refuse=2),
    "dissatisfaction": dict(need_more_income=.5, basic_needs=.45, skills_mismatch=.1, debts=.05, other=.05),
    "remit_share": dict(under_10=2, pct_10_24=11, pct_25_50=42, over_50=44, refuse=1),
    "remit_freq": dict(more_than_monthly=4, monthly=79, quarterly=2, twice_year=1, yearly=.5, irregular=13,
                       refuse=.5),
    "remit_method": dict(bank=34, mto_in_person=8, online_banking=6, online_mto=3, cash_via_others=27,
                         online_via_others=18, carry_cash=3, middleman=.5, other=.5, refuse=1),
    "method_reason": dict(safest=59, recipient_preference=18, habit=11, fastest=8, cheapest=1, other=1, refuse=2),
    "remit_purpose": dict(living_expenses=89, savings=5, business=2, debts=1.5, property=1, education=.5, health=.5,
                          other=.5),
    "housing_type": dict(permanent=84, own_home=9, temporary=5, homeless=.7, refuse=1.3),
    "living_with": dict(alone=4, family=15, parents=3, relatives=16, friends_coworkers=62),
    "pays_rent": dict(yes=45, no=53, refuse=2),
    "housing_barriers": dict(high_rent=.55, no_documents=.15, no_registration=.15, landlord_refusal=.12,
                             no_information=.1, short_stay=.25, other=.03),
    "health_access": dict(yes=64, no=20, dont_know=12, refuse=4),
    "health_barriers": dict(no_money=.45, no_documents=.35, no_insurance=.25, no_registration=.15, language=.1,
                            no_information=.15, no_time=.1, discrimination=.02, other=.03),
    "pregnancy_care": dict(yes=55, no=20, dont_know=20, refuse=5),
    "edu_access": dict(self_only=14, children_only=9, self_and_children=7, no_access=34, dont_know=32, refuse=4),
    "fin_access": dict(yes=67, no=20, dont_know=10, refuse=3),
    "affordability": dict(mobile_phone=.75, avoid_arrears=.5, keep_warm=.43, meat_meal=.35, washing_machine=.3,
                          colour_tv=.28, unexpected_expenses=.27, holiday=.1, car=.07, other=.01),
    "rights_informed": dict(fully=27, partially=50, not_informed=9, dont_know=10, refuse=4),
    "channels": dict(mobile_chats=.93, social_media=.2, brochures=.15, websites=.08, hotline=.06, face_to_face=.1,
                     tv_radio=.05, community_leaders=.05, other=.01),
    "info_language": dict(native=64, russian=30, kazakh=3, english=1, other=1, refuse=1),
    "rules_aware": dict(yes=78, no=19, dont_know=2, refuse=1),
    "relation_nationals": dict(good=87, no_interaction=8, dont_know=3, refuse=2),
    "relation_migrants": dict(good=81, negative=1, no_interaction=12, dont_know=4, refuse=2),
    "relation": dict(spouse=10, child=45, parent=25, sibling=12, grandparent=2, grandchild=2, other_relative=3,
                     non_relative=1),
}


@dataclass(frozen=True)
class DemoInstance:
    enumerator: str  # "enum01".."enum15"
    instance_id: str  # "uuid:…", deterministic from the seed
    xml: bytes
    #: When the tablet sent it: mostly within hours of the interview's end, some the next day, a few days
    #: later (a tablet without a connection); never after ``until``.
    received_at: dt.datetime


def demo_instances(*, count: int, seed: int = 4, first_day: dt.date = dt.date(2024, 4, 1), days: int = 61,
                   until: dt.datetime | None = None) -> list[DemoInstance]:
    """``count`` submissions of the demo form, spread evenly over the 15 enumerators, done on the ``days``
    days from ``first_day`` — none ending after ``until`` (one that would is done a day earlier) — and
    received after they ended."""
    if count < 0:
        raise ValueError("count must not be negative")
    rng = random.Random(seed)
    arrivals = random.Random(seed * 7919 + 1)  # its own draws: the answers do not depend on the arrivals
    devices = {e: "collect:" + "".join(rng.choices(string.ascii_letters + string.digits, k=16)) for e in ENUMERATORS}
    queue: list[str] = []
    instances = []
    for _ in range(count):
        if not queue:
            queue = rng.sample(ENUMERATORS, len(ENUMERATORS))
        enumerator = queue.pop()
        answers = _interview(rng, ENUMERATORS.index(enumerator), devices[enumerator], first_day, days, until)
        instance_id = f"uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
        answers["meta/instanceID"] = instance_id
        received = _arrival(arrivals, dt.datetime.fromisoformat(answers["end"]), until)
        instances.append(DemoInstance(enumerator=enumerator, instance_id=instance_id, xml=_xml(answers),
                                      received_at=received))
    return instances


def _arrival(rng: random.Random, end: dt.datetime, until: dt.datetime | None) -> dt.datetime:
    """When an interview that ended at ``end`` reached the server (at most ``until``)."""
    r = rng.random()
    if r < 0.65:  # sent the same evening
        delay = dt.timedelta(minutes=rng.randint(5, 180))
    elif r < 0.9:  # the next morning, back in range
        delay = dt.timedelta(hours=rng.randint(12, 20))
    else:  # a few days without a connection
        delay = dt.timedelta(days=rng.randint(2, 4), hours=rng.randint(0, 6))
    received = end + delay
    return max(end, min(received, until)) if until is not None else received


def _one(rng: random.Random, weights: Mapping[K, float]) -> K:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _many(rng: random.Random, list_name: str, probabilities: dict[str, float] | None = None, **alone: float) -> str:
    """A select_multiple answer: each option with its probability (``W[list_name]`` by default), in the choice
    list's order as Collect sends them; ``alone`` options (none, dont_know, refuse) never combined with others."""
    probabilities = _in_list_order(W[list_name] if probabilities is None else probabilities, list_name)
    r = rng.random()
    for name, p in alone.items():
        if r < p:
            return name
        r -= p
    chosen = [name for name, p in probabilities.items() if rng.random() < p]
    return " ".join(chosen) or _one(rng, probabilities)


def _interview(rng: random.Random, index: int, device: str, first_day: dt.date = dt.date(2024, 4, 1),
               days: int = 61, until: dt.datetime | None = None) -> dict[str, Any]:
    """One respondent's answers by path; a path that is not there is sent empty."""
    code = LOCATIONS[index % 10]
    if index % 2 and rng.random() < 0.2:  # odd enumerators also cover a second location
        code = LOCATIONS[(index + 5) % 10]
    day = first_day + dt.timedelta(days=rng.randrange(days))
    start = dt.datetime.combine(day, dt.time(9), ALMATY) + dt.timedelta(seconds=rng.randrange(10 * 3600),
                                                                         milliseconds=rng.randrange(1000))
    if until is not None and start > until - dt.timedelta(hours=1):  # not done yet: done the day before
        start -= dt.timedelta(days=1)
        day = start.date()
    a: dict[str, Any] = {"start": _stamp(start), "today": day.isoformat(), "deviceid": device,
                         "consent": "no" if rng.random() < 0.03 else "yes"}
    if a["consent"] == "no":  # thanked and let go: the rest of the form is not relevant
        a["end"] = _stamp(start + dt.timedelta(seconds=rng.randrange(40, 180)))
        return a
    a["end"] = _stamp(start + dt.timedelta(seconds=rng.randrange(12 * 60, 45 * 60 + 1)))
    lat_min, lat_max, lon_min, lon_max, alt = BOXES[code]
    a["location/location"] = code.lower().replace("-", "_")
    a["location/gps"] = (f"{rng.uniform(lat_min, lat_max):.6f} {rng.uniform(lon_min, lon_max):.6f} "
                         f"{alt + rng.uniform(-15, 15):.1f} {rng.uniform(3, 19):.1f}")

    female = rng.random() < 0.17
    sex = "f" if female else "m"
    country = _one(rng, W["country"])
    age = _age(rng, 37.5 if female else 32, 10 if female else 9)
    if rng.random() < 0.9:
        a["demographics/resp_name"] = rng.choice(NAMES[country][female].split())
    if rng.random() < 0.65:
        a["demographics/resp_phone"] = _phone(rng, country)
    a["demographics/sex"] = "female" if female else "male"
    a["demographics/age"] = str(age)
    a["demographics/marital"] = marital = _one(rng, W["marital"])
    a["demographics/education"] = education = _one(rng, W[f"education_{sex}"])
    if education in ("post_secondary_non_tertiary", "short_cycle_tertiary"):
        a["demographics/edu_field"] = _one(rng, W[f"edu_field_{sex}"])

    a["vulnerability/main_provider"] = _one(rng, W["main_provider"])
    low, high = _one(rng, {(0, 0): 44, (1, 3): 40, (4, 6): 14, (7, 9): 2, (10, 12): .5})
    dependants = rng.randint(low, high)
    a["vulnerability/dependants"] = str(dependants)
    a[MEMBERS] = _members(rng, min(dependants, 4), age, marital)

    a["origin/origin_country"] = country
    if country == "other":
        a["origin/origin_other"] = rng.choice(OTHER_COUNTRIES)
    else:  # choice_filter: country = ${origin_country}
        regions = [c["name"] for c in _schema()["choices"]["origin_region"] if c["extra"].get("country") == country]
        a["origin/origin_region"] = rng.choice(regions)
    a["origin/emp_before"] = emp_before = _one(rng, W["emp_before"])
    if emp_before in EMPLOYED:
        a["origin/sector_before"] = _one(rng, W[f"sector_before_{sex}"])

    a["intentions/stay_length"] = _one(rng, W["stay_length"])
    a["intentions/stay_expected"] = _one(rng, W["stay_expected"])
    a["intentions/intention"] = intention = _one(rng, W["intention"])
    if intention in ("return_home", "other_country"):
        a["intentions/intention_timeline"] = _one(rng, W["intention_timeline"])
    a["intentions/reasons_kz"] = _many(rng, "reasons_kz", dont_know=.015, refuse=.015)
    a["intentions/migration_purpose"] = purpose = _one(rng, W["migration_purpose"])
    if purpose == "non_employment":
        reasons = dict(W["reasons_other"], mobilization=.35 if country == "russia" else 0)
        a["intentions/reasons_other"] = _many(rng, "reasons_other", reasons, dont_know=.02, refuse=.11)

    income = _employment(rng, a, sex)
    a["remittances/sends_money"] = sends = "yes" if rng.random() < (.3 if dependants == 0 else .55) else "no"
    if sends == "yes":
        a["remittances/remit_share"] = share = _one(rng, W["remit_share"])
        a["remittances/remit_freq"] = _one(rng, W["remit_freq"])
        a["remittances/remit_method"] = _one(rng, W["remit_method"])
        a["remittances/remit_method_reason"] = _one(rng, W["method_reason"])
        a["remittances/remit_purpose"] = _one(rng, W["remit_purpose"])
        if rng.random() < 0.85:  # decimal: Collect sends 250.0
            fraction = {"under_10": .07, "pct_10_24": .17, "pct_25_50": .38, "over_50": .6}.get(share, .4)
            amount = round((income or rng.randint(200, 600)) * fraction, -1)
            a["remittances/remit_amount"] = f"{max(amount, 20.0):.1f}"

    a["housing/housing_type"] = housing = _one(rng, W["housing_type"])
    a["housing/living_with"] = _one(rng, W["living_with"])
    a["housing/pays_rent"] = "no" if housing in ("own_home", "homeless") else _one(rng, W["pays_rent"])
    if housing in ("temporary", "homeless"):
        a["housing/housing_barriers"] = _many(rng, "housing_barriers", refuse=.08)
    a["health/health_access"] = access = _one(rng, W["health_access"])
    if access == "no":
        a["health/health_barriers"] = _many(rng, "health_barriers", refuse=.05)
    if female:
        a["health/pregnancy_care"] = _one(rng, W["pregnancy_care"])
    a["education_access/edu_access"] = _one(rng, W["edu_access"])
    a["finance/fin_access"] = _one(rng, W["fin_access"])
    a["finance/affordability"] = _many(rng, "affordability", none=.03, refuse=.02)
    a["rights/rights_informed"] = _one(rng, W["rights_informed"])
    a["rights/comm_channels"] = _many(rng, "channels", dont_know=.02, refuse=.01)
    a["rights/info_language"] = "native" if country == "russia" and rng.random() < .5 else _one(rng, W["info_language"])
    for name in ("rules_aware", "relation_nationals", "relation_migrants"):
        a[f"rights/{name}"] = _one(rng, W[name])
    return a


def _employment(rng: random.Random, a: dict[str, Any], sex: str) -> int | None:
    """The employment group; returns the monthly income in USD (None when not given)."""
    a["employment/emp_status"] = status = _one(rng, W["emp_status"])
    employed = status in EMPLOYED
    if employed:
        a["employment/work_time"] = work_time = _one(rng, W["work_time"])
        a["employment/emp_type"] = emp_type = _one(rng, W["emp_type_self" if status == "self_employed" else "emp_type"])
        if emp_type == "employee":
            a["employment/contract"] = _one(rng, W["contract"])
            a["employment/pension"] = _one(rng, W["pension"])
        a["employment/paid_leave"] = _one(rng, W["paid_leave"])
        a["employment/sector_now"] = _one(rng, W[f"sector_now_{sex}"])
        a["employment/job_found"] = found = _many(rng, "job_found", refuse=.02)
        if not {"agency_origin", "agency_kz"} & set(found.split()):
            a["employment/no_agency_reasons"] = _many(rng, "no_agency", dont_know=.02, refuse=.19)
    a["employment/work_challenges"] = _many(rng, "challenges", none=.11, refuse=.3)
    if employed and rng.random() < 0.95:
        a["employment/hours_day"] = str(rng.randint(4, 7) if work_time.startswith("part") else rng.randint(8, 12))
    income: int | None = None
    if rng.random() < 0.96:
        if not employed:
            income = 0 if rng.random() < 0.85 else rng.randint(5, 20) * 10
        else:
            low, high = _one(rng, {(0, 0): 3, (50, 200): 1, (201, 300): 5.5, (301, 500): 39, (501, 1200): 51})
            income = round(rng.randint(low, high), -1)
        a["employment/income_usd"] = str(income)
        a["employment/income_kzt"] = str(income * 450)  # calculate: ${income_usd} * 450
    a["employment/income_sufficiency"] = _one(rng, W["sufficiency_none" if income == 0 else "sufficiency"])
    a["employment/econ_satisfaction"] = satisfaction = _one(rng, W["satisfaction"])
    if satisfaction in ("unsatisfied", "very_unsatisfied"):
        jobless = status.startswith("unemployed")
        reasons = dict(unemployed=.9, no_job_found=.5, debts=.05) if jobless else W["dissatisfaction"]
        a["employment/dissatisfaction_reasons"] = _many(rng, "dissatisfaction", reasons, refuse=.05)
    return income


def _members(rng: random.Random, n: int, age: int, marital: str) -> list[dict[str, str]]:
    members: list[dict[str, str]] = []
    for _ in range(n):
        weights = dict(W["relation"])
        if marital != "married" or "spouse" in [m[RELATION] for m in members]:
            weights["spouse"] = 0
        if age < 40:
            weights["grandchild"] = 0
        if marital in ("single", "engaged") or age < 20:
            weights["child"] = 5
        relation = _one(rng, weights)
        low, high = {"spouse": (max(16, age - 6), age + 4), "child": (0, max(0, min(age - 17, 25))),
                     "parent": (age + 19, age + 35), "sibling": (max(1, age - 12), age + 12),
                     "grandparent": (age + 38, age + 55), "grandchild": (0, max(0, min(age - 36, 15))),
                     "other_relative": (2, 75), "non_relative": (5, 70)}[relation]
        member_age = min(105, rng.randint(low, high))
        members.append({f"{MEMBERS}/member_age": str(member_age), RELATION: relation})
    return members


def _age(rng: random.Random, mean: float, sd: float) -> int:
    while True:
        age = round(rng.gauss(mean, sd))
        if 18 <= age <= 66:  # the form allows 14-80
            return age


def _phone(rng: random.Random, country: str) -> str:
    """A local +7 SIM mostly; some Uzbeks keep a +998 number, some Russians a Russian +7 9xx one."""
    if country == "uzbekistan" and rng.random() < 0.4:
        return "+998" + rng.choice(["90", "91", "93", "94", "97", "99", "33", "88"]) + f"{rng.randrange(10**7):07d}"
    if country == "russia" and rng.random() < 0.3:
        return "+79" + f"{rng.randrange(10**9):09d}"
    prefix = rng.choice(["700", "701", "702", "705", "707", "747", "771", "775", "777", "778"])
    return f"+7{prefix}{rng.randrange(10**7):07d}"


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")  # 2024-04-12T10:15:03.000+05:00


def _in_list_order(options: dict[str, float], list_name: str) -> dict[str, float]:
    """Options in the choice list's order, as Collect sends a select_multiple."""
    names = [c["name"] for c in _schema()["choices"][list_name]]
    if set(options) - set(names):
        raise ValueError(f"not in the list {list_name}: {sorted(set(options) - set(names))}")
    return {name: options[name] for name in names if name in options}


@cache
def _schema() -> FormSchema:
    return xlsform_convert(source=FORM.read_bytes(), filename=FORM.name).schema


def _xml(answers: dict[str, Any]) -> bytes:
    schema = _schema()
    root = etree.Element(schema["root"], {"id": schema["form_id"], "version": schema["version"]}, nsmap=NSMAP)
    _fill(root, None, answers)
    return b'<?xml version="1.0"?>' + etree.tostring(root, encoding="UTF-8")


def _fill(element: etree._Element, parent: str | None, answers: dict[str, Any]) -> None:
    """The form's elements under ``parent`` in the form's order; a repeat once per answers dict, none if none."""
    for field in _schema()["fields"]:
        if field["parent"] != parent:
            continue
        if field["type"] == "repeat":
            for member in answers.get(field["path"], []):
                _fill(etree.SubElement(element, field["name"]), field["path"], member)
            continue
        child = etree.SubElement(element, field["name"])
        if field["type"] == "group":
            _fill(child, field["path"], answers)
        else:
            child.text = answers.get(field["path"]) or None
