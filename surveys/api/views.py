"""Our own API (``/api/v1/``): questionnaires."""

from django.http import StreamingHttpResponse
from rest_framework import status
from rest_framework.exceptions import NotFound as DRFNotFound
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mtm.errors import Conflict, Forbidden, InvalidInput, NotFound
from surveys import selectors
from surveys.api.serializers import QuestionnaireSerializer, XLSFormUploadSerializer
from surveys.models import Questionnaire
from surveys.services.questionnaires import questionnaire_import
from surveys.services.raw_store import open_chunks


class QuestionnaireList(ListAPIView):
    """``GET`` lists questionnaire versions; ``POST`` (multipart ``file``,
    optional ``survey``, ``round``, ``allow_anonymous``) imports an XLSForm:
    201 new version, 200 same version already stored, 400 with pyxform's
    row-numbered message, 409 same version with different content."""

    serializer_class = QuestionnaireSerializer
    permission_classes = [IsAuthenticated, DjangoModelPermissions]
    queryset = Questionnaire.objects.select_related("round__survey").order_by("form_id", "-created_at")

    def post(self, request: Request) -> Response:
        upload = XLSFormUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        try:
            result = questionnaire_import(
                source=data["file"].read(), filename=data["file"].name, survey_slug=data.get("survey") or None,
                round_number=data.get("round"), created_by=request.user, allow_anonymous=data["allow_anonymous"],
            )
        except Conflict as err:
            return Response({"detail": err.message}, status=status.HTTP_409_CONFLICT)
        except InvalidInput as err:
            raise ValidationError({"file": [err.message]}) from err
        body = QuestionnaireSerializer(result.questionnaire).data | {"warnings": result.warnings}
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class SubmissionAttachmentDownload(APIView):
    """``GET /api/v1/submissions/<instance_id>/attachments/<filename>?form=<form_id>``:
    the file as received, opened from the raw store as it streams (data-protection role)."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request, instance_id: str, filename: str) -> StreamingHttpResponse:
        form_id = request.query_params.get("form", "")
        try:
            attachment = selectors.submission_attachment_for_user(
                user=request.user, form_id=form_id, instance_id=instance_id, filename=filename)
        except Forbidden as err:
            raise PermissionDenied(err.message) from err
        except NotFound as err:
            raise DRFNotFound(err.message) from err
        response = StreamingHttpResponse(open_chunks(attachment.file.open("rb")),
                                         content_type=attachment.content_type)
        response["Content-Disposition"] = f'attachment; filename="{attachment.filename}"'
        response["Content-Length"] = str(attachment.size)
        return response
