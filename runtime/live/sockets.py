"""Websocket consumers for live runs. Permission is checked on connect (the session's
user must be allowed to see the run or flow; otherwise the handshake is refused), then the
client gets the current state from the database and the stream of events after it. A
viewer's socket hides what was derived from secrets, as pages do (runtime.disclosure)."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from designer.access import flow_get_for_user
from runtime import disclosure
from runtime.live import publish
from runtime.selectors import run_get_for_user, run_list_for_user, run_steps

RECENT_RUNS = 20


class _Live(AsyncJsonWebsocketConsumer):
    group = ""
    reveal = False  # set by authorize(): may this user see what secrets flowed into?

    async def connect(self) -> None:
        try:
            self.group = await database_sync_to_async(self.authorize)()
        except Http404:
            await self.close(code=4404)  # before accept: the handshake is refused
            return
        publish.bind_server_loop(asyncio.get_running_loop())
        # Join first, then read the state: an event between the two arrives after the
        # snapshot instead of being lost.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(await database_sync_to_async(self.snapshot)())

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "refresh":
            await self.send_json(await database_sync_to_async(self.snapshot)())

    async def run_changed(self, event: dict[str, Any]) -> None:
        await self.forward(event)

    async def step_changed(self, event: dict[str, Any]) -> None:
        await self.forward(event)

    async def step_log(self, event: dict[str, Any]) -> None:
        await self.forward(event)

    async def events_batch(self, message: dict[str, Any]) -> None:
        """Several events published together (runtime.live.publish): one frame each, in order."""
        for event in publish.events_of(message):
            await self.forward(event)

    async def forward(self, event: dict[str, Any]) -> None:
        shown = disclosure.event_shown(event, reveal=self.reveal)
        if shown is not None:
            await self.send_json(shown)

    def authorize(self) -> str:
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError


class RunSocket(_Live):
    """``/ws/runs/<id>/``: one run, its steps, and the log lines of its code steps."""

    def authorize(self) -> str:
        self.run_id = self.scope["url_route"]["kwargs"]["run_id"]
        run = run_get_for_user(user=self.scope["user"], run_id=self.run_id)
        self.reveal = disclosure.reveals(user=self.scope["user"], workspace=run.flow.workspace)
        return publish.run_group(self.run_id)

    def snapshot(self) -> dict[str, Any]:
        run = run_get_for_user(user=self.scope["user"], run_id=self.run_id)
        steps = disclosure.steps_shown(run_steps(run=run), reveal=self.reveal)
        return {
            "type": "snapshot",
            "run": publish.run_data(disclosure.run_shown(run, reveal=self.reveal)),
            "steps": [publish.step_data(step) for step in steps],
        }


class FlowRunsSocket(_Live):
    """``/ws/flows/<id>/runs/``: the runs of one flow as they start and finish."""

    def authorize(self) -> str:
        self.flow_id = self.scope["url_route"]["kwargs"]["flow_id"]
        flow = flow_get_for_user(user=self.scope["user"], flow_id=self.flow_id)
        self.reveal = disclosure.reveals(user=self.scope["user"], workspace=flow.workspace)
        return publish.flow_group(self.flow_id)

    def snapshot(self) -> dict[str, Any]:
        runs = run_list_for_user(user=self.scope["user"], flow_id=self.flow_id)
        recent = runs.order_by("-id")[:RECENT_RUNS]
        return {
            "type": "snapshot",
            "runs": [
                publish.run_data(disclosure.run_shown(run, reveal=self.reveal)) for run in recent
            ],
        }
