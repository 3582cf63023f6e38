"""Platform I/O: the Platform protocol, the X and Facebook adapters, the poller and the scheduled loop."""
