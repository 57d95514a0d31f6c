"""A throw-away database for the in-process simulator, so it can run the real engine on real rows.

Why: the simulator (sim.policy) runs salesbot.pipeline.engine.decide and writes what the bot did and how
the fans answered through learning.services, so the stats the engine reads are the real ones. Those
rows must never reach the user's database, whatever DATABASE_URL says. Inside `sandbox()` Django's
default connection is a private in-memory SQLite database (migrated once per process, then copied, so
each sandbox starts empty in milliseconds); on the way out it is dropped and the real connection is put
back. Nothing else is reachable from inside either:

  - a private in-process cache (never the project's Redis), holding nothing: the simulated clock runs far
    ahead of the stats cache's wall-clock lifetime, so every offer reads the stats as they are;
  - no Anthropic key: the router's LLM rows are decided as they are without one (the rules' stand-in);
  - DEBUG off, so no query log grows over a long run.
"""

import logging
import sqlite3
from contextlib import contextmanager

from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import ConnectionHandler
from django.test.utils import override_settings

SETTINGS = {
    "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "sim-sandbox"}},
    "LEARNING_STATS_CACHE_SECONDS": 0,
    "ANTHROPIC_API_KEY": "",
    "DEBUG": False,
}
QUIET = ("salesbot.pipeline.llm.client",)  # "ANTHROPIC_API_KEY is not set": said by the sandbox, not the user

_template: sqlite3.Connection | None = None


@contextmanager
def sandbox():
    """Run the block against an empty, fully migrated in-memory database; yields its connection."""
    global _template
    db = ConnectionHandler({DEFAULT_DB_ALIAS: {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}})[
        DEFAULT_DB_ALIAS
    ]
    real = connections[DEFAULT_DB_ALIAS]
    connections[DEFAULT_DB_ALIAS] = db
    loggers = [logging.getLogger(name) for name in QUIET]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with override_settings(**SETTINGS):
            db.ensure_connection()
            if _template is None:
                call_command("migrate", verbosity=0, interactive=False, database=DEFAULT_DB_ALIAS)
                template = sqlite3.connect(":memory:", check_same_thread=False)
                db.connection.backup(template)
                _template = template
            else:
                _template.backup(db.connection)
            yield db
    finally:
        connections[DEFAULT_DB_ALIAS] = real
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        if db.connection is not None:
            db.connection.close()  # an in-memory database: its rows go with it
            db.connection = None
