"""REST API for container images: every member of a workspace lists and reads its images;
its admins register them from a registry (202: a worker pulls it) or by uploading an image
archive (201). Thin: parse, call a selector or service, render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from designer.params import id_param
from runtime import selectors
from runtime.http import serializers
from runtime.images import register
from runtime.images.errors import ImageRefused
from runtime.images.receive import ArchiveReceiver, too_large_message


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]  # IsAuthenticated ran first


def _refused(exc: ImageRefused) -> Response:
    return Response(
        {"detail": str(exc), "errors": [{"field": exc.field, "message": str(exc)}]},
        status=exc.status,
    )


class ImageList(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("workspace", int, description="Only this workspace's.")],
        responses=serializers.ImageSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        workspace = id_param(request.query_params, "workspace")
        images = selectors.image_list_for_user(user=_user(request), workspace_id=workspace)
        return Response(serializers.ImageSerializer(images, many=True).data)

    @extend_schema(
        request=serializers.ImageReferenceSerializer,
        responses={202: serializers.ImageSerializer},
    )
    def post(self, request: Request) -> Response:
        given = serializers.ImageReferenceSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        workspace = selectors.workspace_get_for_admin(
            user=_user(request), workspace_id=data["workspace"], what="images"
        )
        try:
            image = register.image_register_reference(
                workspace=workspace,
                name=data["name"],
                description=data["description"],
                reference=data["reference"],
                credentials_secret=data["credentials_secret"],
                user=_user(request),
            )
        except ImageRefused as exc:
            return _refused(exc)
        return Response(serializers.ImageSerializer(image).data, status=status.HTTP_202_ACCEPTED)


# The archive is written to disk as it is parsed, never past the size cap
# (runtime.images.receive), and converted in the request: seconds, not minutes.
class ImageUpload(APIView):
    parser_classes = [MultiPartParser]

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # Before anything parses the body (the CSRF check of a session reads the form).
        self.receiver = ArchiveReceiver(request)
        request.upload_handlers = [self.receiver]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": serializers.ImageUploadSerializer},
        responses={201: serializers.ImageSerializer},
    )
    def post(self, request: Request) -> Response:
        given = serializers.ImageUploadSerializer(data=request.data)
        if self.receiver.too_large:
            return _refused(ImageRefused(too_large_message(), field="archive", status=413))
        given.is_valid(raise_exception=True)
        data = given.validated_data
        workspace = selectors.workspace_get_for_admin(
            user=_user(request), workspace_id=data["workspace"], what="images"
        )
        try:
            image = register.image_register_upload(
                workspace=workspace,
                name=data["name"],
                description=data["description"],
                upload_path=Path(data["archive"].temporary_file_path()),
                user=_user(request),
            )
        except ImageRefused as exc:
            return _refused(exc)
        finally:
            data["archive"].close()  # deletes the temporary file
        return Response(serializers.ImageSerializer(image).data, status=status.HTTP_201_CREATED)


class ImageDetail(APIView):
    @extend_schema(responses=serializers.ImageSerializer)
    def get(self, request: Request, image_id: int) -> Response:
        image = selectors.image_get_for_user(user=_user(request), image_id=image_id)
        return Response(serializers.ImageSerializer(image).data)
