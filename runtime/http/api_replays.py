"""REST API for replays and flow tests. Thin: parse, call a selector or service, render."""

from __future__ import annotations

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from designer import access
from designer import selectors as flows
from runtime import disclosure, runs, selectors
from runtime.http import replay_serializers
from runtime.replay import batches, flowtests


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]  # IsAuthenticated ran first


class FlowReplays(APIView):
    @extend_schema(responses=replay_serializers.ReplayBatchSummarySerializer(many=True))
    def get(self, request: Request, flow_id: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id)
        found = selectors.replay_batch_list(flow=flow)
        return Response(replay_serializers.ReplayBatchSummarySerializer(found, many=True).data)

    @extend_schema(
        request=replay_serializers.ReplayStartSerializer,
        responses={202: replay_serializers.ReplayReportSerializer},
        description="Replay past runs of the flow against a saved version, in the background: "
        "the runs named, or the last N (of the live version, or of `of_version`), filtered by "
        "status and time. Steps that act on the world are not performed, except the nodes "
        "in `perform`.",
    )
    def post(self, request: Request, flow_id: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id, write=True)
        given = replay_serializers.ReplayStartSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        version = flows.flow_version_get(flow=flow, number=data["version"])
        source = (
            flows.flow_version_get(flow=flow, number=data["of_version"])
            if data.get("of_version")
            else None
        )
        chosen = batches.replayable_runs(
            flow=flow,
            run_ids=data.get("runs") or (),
            last=data.get("last"),
            status=data.get("status", ""),
            since=data.get("since"),
            until=data.get("until"),
            version=source,
        )
        batch = batches.batch_start(
            flow=flow,
            version=version,
            runs=list(chosen),
            user=_user(request),
            perform=data.get("perform") or (),
        )
        report = batches.batch_report(batch)
        return Response(report, status=status.HTTP_202_ACCEPTED)


class ReplayDetail(APIView):
    @extend_schema(responses=replay_serializers.ReplayReportSerializer)
    def get(self, request: Request, batch_id: int) -> Response:
        batch = selectors.replay_batch_get_for_user(user=_user(request), batch_id=batch_id)
        reveal = disclosure.reveals(user=_user(request), workspace=batch.flow.workspace)
        return Response(batches.batch_report(batch, hide_values=not reveal))


class RunSaveAsTest(APIView):
    @extend_schema(
        request=replay_serializers.FlowTestCreateSerializer,
        responses={201: replay_serializers.FlowTestSerializer},
    )
    def post(self, request: Request, run_id: int) -> Response:
        run = selectors.run_get_for_user(user=_user(request), run_id=run_id, write=True)
        given = replay_serializers.FlowTestCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        test = flowtests.test_create(
            run=run,
            name=given.validated_data["name"],
            expectations=given.validated_data["expectations"],
            user=_user(request),
        )
        return Response(
            replay_serializers.FlowTestSerializer(test).data, status=status.HTTP_201_CREATED
        )


class FlowTests(APIView):
    @extend_schema(responses=replay_serializers.FlowTestSerializer(many=True))
    def get(self, request: Request, flow_id: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id)
        tests = selectors.flow_test_list(flow=flow)
        return Response(replay_serializers.FlowTestSerializer(tests, many=True).data)


class FlowTestDetail(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, test_id: int) -> Response:
        test = selectors.flow_test_get_for_user(user=_user(request), test_id=test_id, write=True)
        test.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class VersionTests(APIView):
    @extend_schema(responses=replay_serializers.TestVerdictSerializer)
    def get(self, request: Request, flow_id: int, number: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id)
        version = flows.flow_version_get(flow=flow, number=number)
        return Response(flowtests.verdict(version).as_dict())

    @extend_schema(request=None, responses={202: replay_serializers.TestVerdictSerializer})
    def post(self, request: Request, flow_id: int, number: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id, write=True)
        version = flows.flow_version_get(flow=flow, number=number)
        if flowtests.tests_start(flow=flow, version=version, user=_user(request)) is None:
            raise runs.RunRefused("This flow has no tests: save a run as a test first.")
        return Response(flowtests.verdict(version).as_dict(), status=status.HTTP_202_ACCEPTED)
