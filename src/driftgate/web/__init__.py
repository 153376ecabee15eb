"""The dashboard: server-rendered pages under ``/ui/`` (Jinja2, htmx when its file is installed),
served by ``driftgate serve`` beside the API, calling the same use cases with the same roles."""

from driftgate.web.app import create_site, install

__all__ = ["create_site", "install"]
