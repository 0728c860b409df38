from django.apps import AppConfig


class DesignerConfig(AppConfig):
    name = "designer"
    verbose_name = "Designer"

    def ready(self) -> None:
        from designer import checks  # noqa: F401  # registers the system checks
