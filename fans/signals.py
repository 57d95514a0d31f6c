"""What the fans app tells the apps built on it, which it does not import."""

from django.dispatch import Signal

# Sent with `fan=` and `why=` ("handed_off" or "opted_out") inside the transaction that took the fan out of the
# bot's hands: work kept elsewhere for the fan (salesbot's open drafts) is closed the same way whatever the cause,
# and a fan handed to the people is routed to one of them.
left_the_bot = Signal()
