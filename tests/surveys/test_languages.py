"""The supervisor's pages in Russian and Kazakh: the dashboard, the submission list and its actions, the
round tables and their XLSX; dates and numbers formatted for the language; questionnaire labels in the
interface language where the form has it; management commands in the shell's language."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import translation
from openpyxl import load_workbook

from enumerators.models import User
from enumerators.services.accounts import user_language_set
from surveys.models import Location, Submission
from tests.factories import UserFactory

MONTHS_RU = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
             "ноября", "декабря"]


def browser(user: User, language: str) -> Client:
    user_language_set(user_id=user.pk, language=language)
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.mark.django_db
class TestDashboard:
    def test_in_kazakh_for_a_supervisor(self, teams):
        page = text(browser(teams.users.supA, "kk").get(f"/admin/surveys/round/{teams.round.pk}/dashboard/"))
        start, end = teams.round.start_date, teams.round.end_date
        assert f"<title>{teams.round.survey.slug}, 4-раунд — жинау бақылау тақтасы | MTM Collect</title>" in page
        assert f"{start:%d.%m.%Y} – {end:%d.%m.%Y}" in page  # Kazakhstan's dates (mtm/formats/kk)
        for phrase in ("тек сіздің тобыңыз", "Күн бойынша сұхбаттар", "Кім артта қалып жатыр", "Интервьюерлер",
                       "Орындалды / жоспар", "Соңғы синхрондау", "Аумақтар", "тексеруді күтуде (ескертулер бар)"):
            assert phrase in page, phrase
        assert "Who is behind" not in page and "Enumerators" not in page

    def test_in_russian_with_russian_dates_and_location_names(self, teams):
        page = text(browser(teams.users.supA, "ru").get(f"/admin/surveys/round/{teams.round.pk}/dashboard/"))
        start = teams.round.start_date
        assert f"{start.day} {MONTHS_RU[start.month - 1]} {start.year} г." in page
        assert "Панель мониторинга" in page and "Интервью по дням" in page and "Кто отстаёт" in page
        assert ">Алматы</a>" in page and ">Almaty</a>" not in page

    def test_in_english_by_default(self, teams):
        client = Client()
        client.force_login(teams.users.supA)
        page = text(client.get(f"/admin/surveys/round/{teams.round.pk}/dashboard/"))
        assert "Who is behind" in page and ">Almaty</a>" in page


@pytest.mark.django_db
class TestSubmissionList:
    def test_the_list_and_its_actions_in_russian(self, teams):
        page = text(browser(teams.users.supA, "ru").get("/admin/surveys/submission/"))
        assert "Отметить выбранные как одобренные" in page and "Отложить выбранные" in page
        # Django's own "Select %s to view" (a supervisor reviews, never edits), with our verbose name.
        assert "Выберите интервью для просмотра" in page

    @pytest.mark.parametrize(("count", "message"), [
        (1, "1 интервью отмечено как одобренное."), (2, "2 интервью отмечены как одобренные.")])
    def test_a_bulk_review_is_reported_in_the_russian_plural(self, teams, count, message):
        client = browser(teams.users.supA, "ru")
        picked = [s.pk for s in teams.subs.a1[:count]]
        response = client.post("/admin/surveys/submission/", {"action": "review_approved",
                                                               "_selected_action": picked}, follow=True)
        assert [str(m) for m in response.context["messages"]] == [message]
        assert sorted(Submission.objects.filter(review_status="approved").values_list("pk", flat=True)) == picked

    def test_a_refusal_is_shown_in_the_users_language(self, teams):
        client = browser(teams.users.supA, "kk")
        other_team = teams.subs.b3[0].pk
        response = client.post(f"/admin/surveys/submission/{other_team}/review/", {"status": "approved"})
        assert response.status_code == 404  # outside the team: not even found
        analyst = browser(teams.users.analyst, "kk")
        response = analyst.post(f"/admin/surveys/submission/{teams.subs.a1[0].pk}/review/",
                                {"status": "approved"}, follow=True)
        assert [str(m) for m in response.context["messages"]] == ["Бұл тіркелгіге сұхбаттарды тексеруге рұқсат жоқ."]
        assert Submission.objects.get(pk=teams.subs.a1[0].pk).review_status is None


@pytest.mark.django_db
class TestRoundTables:
    def test_the_page_in_russian_with_the_forms_russian_labels(self, rounds):
        client = browser(UserFactory(username="admin", is_staff=True, is_superuser=True), "ru")
        page = text(client.get(f"/admin/surveys/round/{rounds.pk}/report/?form=report"))
        assert "<h3>Семейное положение</h3>" in page and "<h3>Marital status</h3>" not in page
        assert "Задан 7, ответили 7" in page
        assert "<td>57,1</td>" in page  # the decimal comma
        assert 'style="width: 57.1%"' in page  # CSS keeps its point

    def test_a_language_the_form_lacks_keeps_its_default_labels(self, rounds):
        client = browser(UserFactory(username="admin", is_staff=True, is_superuser=True), "kk")
        page = text(client.get(f"/admin/surveys/round/{rounds.pk}/report/?form=report"))
        assert "<h3>Marital status</h3>" in page and "Қойылды: 7, жауап берді: 7" in page

    def test_the_xlsx_headers_in_russian(self, rounds):
        client = browser(UserFactory(username="admin", is_staff=True, is_superuser=True), "ru")
        download = client.get(f"/admin/surveys/round/{rounds.pk}/report/?form=report&format=xlsx")
        sheet = load_workbook(io.BytesIO(download.content)).active
        rows = [tuple(c for c in row if c is not None) for row in sheet.iter_rows(values_only=True)]
        assert sheet.title == "Раунд 4"
        assert rows[0] == ("report — раунд 4: 7 интервью",)
        block = rows.index(("Семейное положение", "задан 7", "ответили 7"))
        assert rows[block + 1: block + 6] == [("Частота", "% по столбцу"), ("Женат/замужем", 4, 57.1),
                                              ("Холост/не замужем", 2, 28.6), ("Разведён(а)", 1, 14.3),
                                              ("Итого", 7, 100.0)]
        age = rows.index(("Возраст", "задан 7", "ответили 7"))
        assert [row[0] for row in rows[age + 2: age + 7]] == ["Среднее", "Медиана", "Минимум", "Максимум",
                                                             "Ст. отклонение"]


@pytest.mark.django_db
class TestCommands:
    def test_round_report_lang_picks_labels_and_headers(self, rounds, tmp_path):
        call_command("round_report", "report", "--lang", "ru", "--format", "md", "--out", str(tmp_path / "r.md"))
        lines = (tmp_path / "r.md").read_text(encoding="utf-8").splitlines()
        assert lines[0] == "# report — раунд 4: 7 интервью"
        assert "## Семейное положение" in lines and "| Вариант | Частота | % | 95% ДИ |" in lines

    def test_messages_in_the_shells_language(self, rounds):
        out = io.StringIO()
        with override_settings(MTM_COMMAND_LANGUAGE="ru"):
            call_command("rebuild_tallies", "--round-id", str(rounds.pk), stdout=out)
        assert out.getvalue() == "mtm-kz, раунд 4: 7 учтённых интервью\n"
        out = io.StringIO()
        with override_settings(MTM_COMMAND_LANGUAGE="kk"):
            call_command("process_pending", stdout=out)
        assert out.getvalue() == "кезекте 0: өңделді 0, сәтсіз 0\n"

    def test_english_by_default(self, rounds):
        out = io.StringIO()
        call_command("rebuild_tallies", "--round-id", str(rounds.pk), stdout=out)
        assert out.getvalue() == "mtm-kz round 4: 7 counted submissions\n"


@pytest.mark.django_db
def test_a_locations_name_in_the_interface_language():
    almaty = Location.objects.get(code="KZ-75")
    names = {}
    for language in ("en", "ru", "kk"):
        with translation.override(language):
            names[language] = (almaty.local_name, str(almaty))
    assert names == {"en": ("Almaty", "Almaty (KZ-75)"), "ru": ("Алматы", "Алматы (KZ-75)"),
                     "kk": ("Алматы", "Алматы (KZ-75)")}
