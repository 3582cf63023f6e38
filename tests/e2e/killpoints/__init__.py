"""Test-only kill points for the kill matrix (tests/e2e/test_kill_matrix.py): a bot process that kills itself
with SIGKILL at a chosen call inside a chosen stage, and switches that break the crash safety on purpose."""
