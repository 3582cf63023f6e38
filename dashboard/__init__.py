"""The web dashboard: sign-in, the commissioner's leaderboard, the officer's queue, the desk's triage, health."""
