from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "learning"
    verbose_name = "Learning"

    def ready(self):
        from learning import signals  # noqa: F401  (keeps the stats counters right on deletes)
