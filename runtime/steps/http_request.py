"""http.request: call an HTTP API; JSON or text response as the output."""

from runtime.kinds import StepKind, template

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


class HttpRequest(StepKind):
    type = "http.request"
    label = "HTTP request"
    description = "Call an API. 4xx/5xx responses fail the step with the status and body."
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "method": {"enum": METHODS, "title": "Method", "default": "GET"},
            "url": template(
                "URL",
                minLength=1,
                maxLength=4096,
                examples=["https://api.example.com/orders/{{ event.trigger.body.id }}"],
            ),
            "headers": {
                "type": "object",
                "title": "Headers",
                "x-widget": "keyvalue",
                "additionalProperties": template("Value", maxLength=8192),
            },
            "body": template("Body", multiline=True, maxLength=1024 * 1024),
            "body_type": {
                "enum": ["json", "text", "form"],
                "title": "Body is",
                "default": "json",
                "description": "json: the body template must render valid JSON.",
            },
            "timeout_seconds": {
                "type": "number",
                "title": "Timeout (seconds)",
                "exclusiveMinimum": 0,
                "maximum": 300,
                "default": 30,
            },
            "fail_on_http_error": {
                "type": "boolean",
                "title": "Fail on 4xx/5xx",
                "default": True,
            },
        },
    }


KIND = HttpRequest()
