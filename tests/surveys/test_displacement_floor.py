"""A displaced GPS point is never near its true one (issue 13, item 11b): at least the round's
min_displacement_km (0.5 km by default) away, at most the DHS maximum, deterministic per seed."""

import pytest

from surveys.models import Round
from surveys.round_settings import PrivacySettings
from surveys.services.anonymise import displace
from surveys.services.geo import distance_km, inside
from tests.factories import location
from tests.submissions import ALMATY_CENTRE, send_privacy_instance

pytestmark = pytest.mark.django_db


def distances(point, area, seeds, **kwargs):
    lat0, lon0 = (float(x) for x in point.split()[:2])
    found = []
    for seed in seeds:
        lat, lon = (float(x) for x in displace(point, location=area, seed=seed, **kwargs).split())
        assert inside(area, lat, lon)
        found.append(distance_km(lat0, lon0, lat, lon))
    return found


def test_the_default_floor_and_settings():
    assert PrivacySettings().min_displacement_km == 0.5
    assert PrivacySettings.from_json({"min_displacement_km": 1.2}).min_displacement_km == 1.2
    assert PrivacySettings.from_json({"min_displacement_km": -3}).min_displacement_km == 0.0


def test_two_thousand_city_points_none_closer_than_the_floor_none_beyond_the_maximum():
    urban = distances(ALMATY_CENTRE, location("KZ-75"), [f"u{n}" for n in range(2000)])

    assert min(urban) >= 0.5 - 1e-6
    assert max(urban) <= 2.0 + 1e-6
    assert sum(d < 0.01 for d in urban) == 0  # none within 10 m (about 0.5 % were, before the floor)
    assert 0.3 < sum(d > 1.25 for d in urban) / 2000 < 0.7  # still spread over [0.5, 2] km


def test_two_thousand_rural_points_and_a_floor_set_by_the_round():
    rural = distances("52.3 70.5 300 5", location("KZ-11"), [f"r{n}" for n in range(2000)], min_km=1.5)

    assert min(rural) >= 1.5 - 1e-6
    assert max(rural) <= 10.0 + 1e-6
    assert sum(d > 5.0 for d in rural) <= 40  # about 1 % go up to 10 km


def test_a_floor_above_the_urban_maximum_gives_the_maximum_and_the_draw_is_deterministic():
    almaty = location("KZ-75")
    assert set(round(d, 3) for d in distances(ALMATY_CENTRE, almaty, ["a", "b", "c"], min_km=5.0)) == {2.0}
    assert displace(ALMATY_CENTRE, location=almaty, seed="same") == displace(ALMATY_CENTRE, location=almaty,
                                                                               seed="same")


def test_processing_applies_the_rounds_floor(privacy_form):
    Round.objects.filter(pk=privacy_form.round_id).update(privacy={"consent_field": "consent",
                                                                   "min_displacement_km": 1.9})
    for n in range(5):
        lat, lon = (float(x) for x in send_privacy_instance(name=f"r{n}").answers["resp/gps"].split())
        assert 1.9 - 1e-6 <= distance_km(43.25, 76.90, lat, lon) <= 2.0 + 1e-6
