"""The chatters' workplace in admin: the home page, the live inbox and the conversation beside it."""
