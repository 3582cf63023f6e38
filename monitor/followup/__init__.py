"""The follow-up tracker: the case lifecycle's actions, replies in the citizen's thread, deadlines and escalations."""
