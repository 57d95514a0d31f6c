"""Fixtures for the salesbot unit tests."""
from pathlib import Path

import pytest
from django.utils import timezone

from models_registry.services import onboard_from_files

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)
