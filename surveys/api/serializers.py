from rest_framework import serializers

from surveys.models import Questionnaire


class XLSFormUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    survey = serializers.SlugField(required=False, allow_blank=True, max_length=64)
    round = serializers.IntegerField(required=False, min_value=1)
    allow_anonymous = serializers.BooleanField(required=False, default=False)


class QuestionnaireSerializer(serializers.ModelSerializer):
    survey = serializers.CharField(source="round.survey.slug")
    round = serializers.IntegerField(source="round.number")
    hash = serializers.SerializerMethodField()

    class Meta:
        model = Questionnaire
        fields = ["form_id", "version", "title", "survey", "round", "hash", "allow_anonymous", "created_at"]

    def get_hash(self, obj: Questionnaire) -> str:
        return f"md5:{obj.md5}"
