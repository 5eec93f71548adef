"""Loopback fakes of the systems grades go to (127.0.0.1 only), and gradebook fixtures."""
