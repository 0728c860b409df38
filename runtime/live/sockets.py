"""Websocket consumers for live runs. Permission is checked on connect (the session's
user must be allowed to see the run or flow; otherwise the handshake is refused; the lists'
socket joins only the user's own workspaces), then the client gets the current state from
the database and the stream of events after it. A viewer's socket hides what was derived
from secrets, as pages do (runtime.disclosure); the lists are told no errors or outputs."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from designer.access import flow_get_for_user, workspace_list_for_user
from runtime import disclosure
from runtime.live import publish
from runtime.selectors import run_get_for_user, run_list_for_user, run_steps

RECENT_RUNS = 20


class _Live(AsyncJsonWebsocketConsumer):
    joined: tuple[str, ...] = ()
    reveal = False  # set by authorize(): may this user see what secrets flowed into?

    async def connect(self) -> None:
        try:
            self.joined = tuple(await database_sync_to_async(self.authorize)())
        except Http404:
            await self.close(code=4404)  # before accept: the handshake is refused
            return
        publish.bind_server_loop(asyncio.get_running_loop())
        # Join first, then read the state: an event between the two arrives after the
        # snapshot instead of being lost.
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json(await database_sync_to_async(self.snapshot)())

    async def disconnect(self, code: int) -> None:
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "refresh":
            await self.send_json(await database_sync_to_async(self.snapshot)())

    async def run_changed(self, event: dict[str, Any]) -> None:
        await self.forward(event)

    async def step_changed(self, event: dict[str, Any]) -> None:
        await self.forward(event)

    async def step_log(self, event: dict[str, Any]) -> None:
        await self.forward(event)

    async def step_progress(self, event: dict[str, Any]) -> None:
        await self.forward(event)  # a for-each's item counts: nothing a viewer may not see

    async def events_batch(self, message: dict[str, Any]) -> None:
        """Several events published together (runtime.live.publish): one frame each, in order."""
        for event in publish.events_of(message):
            await self.forward(event)

    async def forward(self, event: dict[str, Any]) -> None:
        shown = disclosure.event_shown(event, reveal=self.reveal)
        if shown is not None:
            await self.send_json(shown)

    def authorize(self) -> list[str]:
        """The groups to join; Http404 refuses the handshake."""
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError


class RunSocket(_Live):
    """``/ws/runs/<id>/``: one run, its steps, and the log lines of its code steps."""

    def authorize(self) -> list[str]:
        self.run_id = self.scope["url_route"]["kwargs"]["run_id"]
        run = run_get_for_user(user=self.scope["user"], run_id=self.run_id)
        self.reveal = disclosure.reveals(user=self.scope["user"], workspace=run.flow.workspace)
        return [publish.run_group(self.run_id)]

    def snapshot(self) -> dict[str, Any]:
        run = run_get_for_user(user=self.scope["user"], run_id=self.run_id)
        steps = disclosure.steps_shown(run_steps(run=run), reveal=self.reveal)
        return {
            "type": "snapshot",
            "run": publish.run_data(disclosure.run_shown(run, reveal=self.reveal)),
            "steps": [publish.step_data(step) for step in steps],
        }


class FlowRunsSocket(_Live):
    """``/ws/flows/<id>/runs/``: the runs of one flow as they start and finish (and the
    progress of their for-each steps)."""

    def authorize(self) -> list[str]:
        self.flow_id = self.scope["url_route"]["kwargs"]["flow_id"]
        flow = flow_get_for_user(user=self.scope["user"], flow_id=self.flow_id)
        self.reveal = disclosure.reveals(user=self.scope["user"], workspace=flow.workspace)
        return [publish.flow_group(self.flow_id)]

    def snapshot(self) -> dict[str, Any]:
        runs = run_list_for_user(user=self.scope["user"], flow_id=self.flow_id)
        recent = runs.order_by("-id")[:RECENT_RUNS]
        return {
            "type": "snapshot",
            "runs": [publish.run_summary(run) for run in recent],
        }


class RunsSocket(_Live):
    """``/ws/runs/``: which runs of the user's workspaces start and finish, for the lists
    of runs and flows (summaries only; the pages fetch their rows over HTTP). Workspaces
    joined later are heard after the next reconnect."""

    def authorize(self) -> list[str]:
        user = self.scope["user"]
        if not user.is_authenticated:
            raise Http404("Log in to watch runs.")
        spaces = workspace_list_for_user(user=user).values_list("pk", flat=True)
        return [publish.workspace_group(pk) for pk in spaces]

    def snapshot(self) -> dict[str, Any]:
        # Nothing to carry: the page re-reads its rows on every (re)connect.
        return {"type": "snapshot"}
