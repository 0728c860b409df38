"""Scenario: replaying N past runs of a five-step flow (a code step, an HTTP POST, an email)
against a draft that changes the email's subject, through the API as the designer does:
from the request to the report saying every replay is done. The POSTs go to a local
server that counts them: a replay must send none."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from runtime.benchmark import flows
from runtime.benchmark.harness import Stack
from runtime.benchmark.report import Row

SCENARIO = "10. Replay"
BUILD = (
    "def handler(event, context):\n"
    "    order = event['trigger']\n"
    "    return {'to': f\"c{order['id']}@example.com\", 'total': order['id'] * 2}\n"
)


class _Counter(BaseHTTPRequestHandler):
    posts = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with _Counter.lock:
            _Counter.posts += 1
        body = b'{"ok": true}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _graph(url: str, subject: str) -> dict[str, Any]:
    return flows.chain(
        {"type": "trigger.manual"},
        [
            {"type": "code.python", "config": {"source": BUILD}},
            {"type": "data.transform", "config": {"value": "{{ event.steps.s0.total }}"}},
            {
                "type": "http.request",
                "config": {"method": "POST", "url": url, "body": '{"total": {{ event.steps.s1 }}}'},
            },
            {
                "type": "email.send",
                "config": {
                    "to": "{{ event.steps.s0.to }}",
                    "subject": subject,
                    "text": "Total {{ event.steps.s1 }}",
                },
            },
        ],
    )


def replay(stack: Stack, *, runs: int) -> list[Row]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/orders"
    try:
        return _measure(stack, url, runs)
    finally:
        server.shutdown()


def _measure(stack: Stack, url: str, runs: int) -> list[Row]:
    api = stack.api()
    flow = flows.publish(stack, "Benchmark: replay", _graph(url, "Order {{ event.trigger.id }}"))
    started = [
        api.post(f"/api/flows/{flow}/runs/", json={"input": {"id": index}}).json()["id"]
        for index in range(runs)
    ]
    for run_id in started:
        flows.wait_for_run(stack, int(run_id), timeout=600)
    posts = _Counter.posts
    saved = api.post(
        f"/api/flows/{flow}/versions/",
        json={"graph": _graph(url, "Your order #{{ event.trigger.id }}"), "based_on": 1},
    )
    if saved.status_code != 201:
        raise RuntimeError(f"Saving the draft failed: {saved.text}")
    draft = int(saved.json()["number"])
    began = time.monotonic()
    answer = api.post(f"/api/flows/{flow}/replays/", json={"version": draft, "last": runs})
    if answer.status_code != 202:
        raise RuntimeError(f"Starting the replays failed: {answer.text}")
    batch = answer.json()["id"]
    report = answer.json()
    deadline = began + 900
    while not report["done"]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"The replays of batch #{batch} did not finish in 900 s.")
        time.sleep(0.2)
        report = api.get(f"/api/replays/{batch}/").json()
    seconds = time.monotonic() - began
    if report["total"] != runs or report["differ"] != runs or _Counter.posts != posts:
        raise RuntimeError(
            f"The replay report is wrong: {report['summary']}; "
            f"{_Counter.posts - posts} POSTs reached the server."
        )
    row = Row(
        SCENARIO,
        f"{runs} runs of a 5-step flow (code, HTTP POST, email), request to report",
        "s",
        seconds,
        target="< 60 s for 200",
        note=report["summary"],
    )
    row.met = runs < 200 or seconds < 60
    per = Row(SCENARIO, "per replayed run", "ms", seconds / runs * 1000)
    return [row, per]
