"""surveys.admin.answers: a record laid out as a person reads it (pure, no database)."""

from surveys.admin.answers import answers_page, form_language


def field(path, kind, label=None, parent=None, repeat=None, list_name=None):
    return {"path": path, "name": path.rsplit("/", 1)[-1], "type": kind, "parent": parent, "repeat": repeat,
            "list_name": list_name, "label": label or {}, "privacy": None}


SCHEMA = {
    "languages": ["English (en)", "Russian (ru)"], "default_language": "English (en)",
    "fields": [
        field("start", "start"),
        field("consent", "select_one", {"English (en)": "Consent", "Russian (ru)": "Согласие"}, list_name="yn"),
        field("work", "group", {"English (en)": "Work", "Russian (ru)": "Работа"}),
        field("work/pay", "group", {"English (en)": "Pay"}, parent="work"),
        field("work/pay/usd", "integer", {"English (en)": "USD"}, parent="work/pay"),
        field("work/pay/kzt", "calculate", parent="work/pay"),
        field("work/jobs", "repeat", {"English (en)": "Jobs"}, parent="work"),
        field("work/jobs/sector", "select_one", {"English (en)": "Sector"}, parent="work/jobs",
              repeat="work/jobs", list_name="sector"),
        field("meta", "group"), field("meta/instanceID", "string", parent="meta"),
    ],
    "choices": {"yn": [{"name": "yes", "label": {"English (en)": "Yes", "Russian (ru)": "Да"}, "extra": {}}],
                "sector": [{"name": "trade", "label": {"English (en)": "Trade"}, "extra": {}}]},
}
RECORD = {"start": "2024-05-02T10:00:00+05:00", "consent": "yes", "work/pay/usd": 300, "work/pay/kzt": 135000,
          "work/jobs": [{"work/jobs/sector": "trade"}, {"work/jobs/sector": "other"}],
          "meta/instanceID": "uuid:1"}


def test_the_form_language_of_an_interface_language():
    assert form_language(SCHEMA, "ru") == "Russian (ru)"
    assert form_language(SCHEMA, "kk") == "English (en)"  # the form has no Kazakh: its default
    assert form_language(SCHEMA, "en-us") == "English (en)"


def test_sections_subsections_repeats_and_the_technical_rest():
    page = answers_page(released=RECORD, schema=SCHEMA, language="Russian (ru)")

    top, work = page.sections
    assert (top.path, [(q.label, q.answer.choices) for q in top.items]) == (None, [("Согласие", [("Да", "yes")])])
    pay, jobs = work.items
    assert (work.label, pay.label, [(q.label, q.answer.value) for q in pay.items]) == (
        "Работа", "Pay", [("USD", 300)])  # no Russian label: the form's first that has one
    assert (jobs.label, jobs.columns) == ("Jobs", ["Sector"])
    assert [[a.choices for a in row] for row in jobs.rows] == [[[("Trade", "trade")]], [[("other", "other")]]]
    assert [(q.path, q.answer.value) for q in page.technical] == [
        ("start", "2024-05-02T10:00:00+05:00"), ("work/pay/kzt", 135000), ("meta/instanceID", "uuid:1")]
