"""REST API for secrets: workspace admins set, replace and delete them; values are
write-only. Thin: parse, call a selector or service, render."""

from __future__ import annotations

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from runtime import runs, selectors, services
from runtime.http import serializers


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]  # IsAuthenticated ran first


class SecretList(APIView):
    @extend_schema(responses=serializers.SecretSerializer(many=True))
    def get(self, request: Request) -> Response:
        secrets = selectors.secret_list_for_admin(user=_user(request))
        return Response(serializers.SecretSerializer(secrets, many=True).data)

    @extend_schema(
        request=serializers.SecretWriteSerializer, responses={201: serializers.SecretSerializer}
    )
    def post(self, request: Request) -> Response:
        given = serializers.SecretWriteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        if "workspace" not in data or "name" not in data:
            raise runs.RunRefused(
                "Say which workspace and name the secret has.",
                field="name" if "workspace" in data else "workspace",
            )
        workspace = selectors.workspace_get_for_admin(
            user=_user(request), workspace_id=data["workspace"]
        )
        secret = services.secret_set(
            workspace=workspace,
            name=data["name"],
            value=data["value"],
            user=_user(request),
            description=data["description"],
        )
        return Response(serializers.SecretSerializer(secret).data, status=status.HTTP_201_CREATED)


class SecretDetail(APIView):
    @extend_schema(
        request=serializers.SecretWriteSerializer, responses=serializers.SecretSerializer
    )
    def put(self, request: Request, secret_id: int) -> Response:
        secret = selectors.secret_get_for_admin(user=_user(request), secret_id=secret_id)
        given = serializers.SecretWriteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        secret = services.secret_set(
            workspace=secret.workspace,
            name=secret.name,
            value=given.validated_data["value"],
            user=_user(request),
            description=given.validated_data["description"],
        )
        return Response(serializers.SecretSerializer(secret).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, secret_id: int) -> Response:
        secret = selectors.secret_get_for_admin(user=_user(request), secret_id=secret_id)
        services.secret_delete(secret=secret)
        return Response(status=status.HTTP_204_NO_CONTENT)
