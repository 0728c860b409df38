"""email.send: send an email through Django's email backend (console, SMTP...)."""

from __future__ import annotations

import smtplib
from email.utils import getaddresses, make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.utils.html import strip_tags

from runtime.kinds.contract import StepContext, StepError, StepKind, StepOutput, template
from runtime.tracing import spans


class SendEmail(StepKind):
    type = "email.send"
    queue = "io"
    effects = True
    label = "Send email"
    description = "Send a text and/or HTML email built from templates."
    output_example = {
        "to": ["ada@example.com"],
        "subject": "Your order",
        "message_id": "<9b2f6c1e-3a8d-5f4b-8c2e-7d1a0b9e4f36@tributary.example>",
    }
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["to", "subject"],
        "properties": {
            "to": template(
                "To",
                minLength=1,
                maxLength=2000,
                description="One or more addresses, separated by commas.",
            ),
            "cc": template("Cc", maxLength=2000),
            "bcc": template("Bcc", maxLength=2000),
            "reply_to": template("Reply to", maxLength=500),
            "from_email": template(
                "From", maxLength=500, description="The server's default sender when empty."
            ),
            "subject": template("Subject", minLength=1, maxLength=1000),
            "text": template("Text body", multiline=True, maxLength=512 * 1024),
            "html": template("HTML body", html=True, multiline=True, maxLength=512 * 1024),
        },
        "anyOf": [{"required": ["text"]}, {"required": ["html"]}],
        "x-message": "Write a text body, an HTML body, or both.",
    }

    def rehearse(self, ctx: StepContext) -> bool:
        self._compose(ctx)
        return True

    def run(self, ctx: StepContext) -> StepOutput:
        recipients, sender, subject, text, html = self._compose(ctx)
        message = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=sender,
            to=recipients["to"],
            cc=recipients["cc"],
            bcc=recipients["bcc"],
            reply_to=recipients["reply_to"],
            connection=get_connection(timeout=max(1.0, min(30.0, ctx.remaining()))),
            headers={"Message-ID": message_id(ctx.idempotency_key)},
        )
        if html:
            message.attach_alternative(html, "text/html")
        count = sum(len(addresses) for addresses in recipients.values())
        with spans.child_span("email.send", "client", {"tributary.email.recipients": count}):
            self._send(message)
        return StepOutput(
            {
                "to": recipients["to"],
                "subject": subject,
                "message_id": message.extra_headers["Message-ID"],
            }
        )

    def _compose(
        self, ctx: StepContext
    ) -> tuple[dict[str, list[str]], str | None, str, str, str | None]:
        """The message as it will be sent (recorded as the step's input)."""
        recipients = {
            field: self._addresses(ctx, field) for field in ("to", "cc", "bcc", "reply_to")
        }
        if not recipients["to"]:
            raise StepError("The email has no recipient: 'To' rendered empty.", retryable=False)
        subject = " ".join(ctx.render(ctx.config["subject"]).split())
        html = ctx.render(ctx.config["html"], html=True) if "html" in ctx.config else None
        text = ctx.render(ctx.config["text"]) if "text" in ctx.config else strip_tags(html or "")
        sender = ctx.render(ctx.config.get("from_email", "")).strip() or None
        ctx.input = {
            **recipients,
            "from": sender or settings.DEFAULT_FROM_EMAIL,
            "subject": subject,
            "text": text,
            "html": html,
        }
        return recipients, sender, subject, text, html

    def _addresses(self, ctx: StepContext, field: str) -> list[str]:
        rendered = ctx.render(ctx.config.get(field, ""))
        addresses = [address for _, address in getaddresses([rendered]) if address]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise StepError(
                    f"{address!r} in {field!r} is not an email address.", retryable=False
                ) from None
        return addresses

    def _send(self, message: EmailMultiAlternatives) -> None:
        try:
            message.send()
        except BadHeaderError as exc:
            raise StepError(f"The email has an invalid header: {exc}.", retryable=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise StepError(f"The mail server did not accept the email: {exc}.") from None


def message_id(key: str) -> str:
    """The email's Message-ID: the step's idempotency key at the public host, so a retry
    of the step sends the same id on any worker (the machine's own name would differ)."""
    domain = urlsplit(settings.PUBLIC_URL).hostname or "tributary.invalid"
    return f"<{key}@{domain}>" if key else make_msgid(domain=domain)


KIND = SendEmail()
