import factory
from django.contrib.auth import get_user_model

from enumerators.models import Assignment, Enumerator
from surveys.models import Location, Round, Survey

PASSWORD = "field-pass-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"enum{n:02d}")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save()


class EnumeratorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enumerator

    user = factory.SubFactory(UserFactory)
    sex = "f"


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey
        django_get_or_create = ["slug"]

    slug = "mtm-kz"
    name = "MTM Kazakhstan — international migrant workers survey"


class RoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Round
        django_get_or_create = ["survey", "number"]

    survey = factory.SubFactory(SurveyFactory)
    number = 4


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    enumerator = factory.SubFactory(EnumeratorFactory)
    round = factory.SubFactory(RoundFactory)


def location(code: str) -> Location:
    return Location.objects.get(code=code)
