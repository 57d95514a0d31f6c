"""What the fans app tells the apps built on it, which it does not import."""
from django.dispatch import Signal

# Sent with `fan=` inside the hand-off's transaction: work kept elsewhere for the fan (salesbot's open drafts)
# is closed with it, so nobody is asked to approve a message to a fan now in human hands.
handed_off = Signal()
