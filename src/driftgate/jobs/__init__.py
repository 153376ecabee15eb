"""The job queue (huey): thin, idempotent actors over the services; the worker."""
