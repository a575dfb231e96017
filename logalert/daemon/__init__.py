"""The long-running process: scheduler, hot reload, health and metrics endpoint."""
