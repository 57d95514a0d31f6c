from django.apps import AppConfig


class SimConfig(AppConfig):
    """Development-only app: the fake platform, fake Claude, fan models and simulators, with the
    `run_demo`, `simulate` and `simulate_live` commands. Not installed by `pip install .`."""

    name = "sim"
    verbose_name = "Simulators and fakes"
