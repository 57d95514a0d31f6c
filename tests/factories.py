from decimal import Decimal

import factory
from django.utils import timezone

from fans.models import Fan
from models_registry.models import Creator, PlaybookSection, ResponseTemplate, VaultItem


class CreatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Creator

    slug = factory.Sequence(lambda n: f"creator{n}")
    display_name = factory.LazyAttribute(lambda o: o.slug.title())
    account_id = factory.Sequence(lambda n: f"acct_{n}")
    api_key = "test-api-key-123456"
    webhook_secret = "test-webhook-secret"
    ppv_min_price = Decimal("5")
    ppv_max_price = Decimal("100")
    entry_price = Decimal("18")


class VaultItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VaultItem

    creator = factory.SubFactory(CreatorFactory)
    content_key = factory.Sequence(lambda n: f"item{n}")
    media_ids = factory.Sequence(lambda n: [1000 + n])
    default_price = Decimal("18")


class PlaybookSectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlaybookSection

    creator = factory.SubFactory(CreatorFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Section {n}")
    body = "Be warm."


class ResponseTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResponseTemplate

    creator = factory.SubFactory(CreatorFactory)
    kind = ResponseTemplate.Kind.GREETING
    variants = ["hey you 💕"]


class FanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Fan

    creator = factory.SubFactory(CreatorFactory)
    fan_id = factory.Sequence(lambda n: 10_000 + n)
    name = factory.Faker("first_name")
    created_ts = factory.LazyFunction(timezone.now)
