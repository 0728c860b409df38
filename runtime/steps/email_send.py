"""email.send: send an email through Django's email backend (console, SMTP...)."""

from runtime.kinds import StepKind, template


class SendEmail(StepKind):
    type = "email.send"
    label = "Send email"
    description = "Send a text and/or HTML email built from templates."
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


KIND = SendEmail()
