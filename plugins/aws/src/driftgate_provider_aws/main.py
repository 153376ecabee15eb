"""``driftgate-provider-aws``: serve the AWS provider as a plugin (driftgate starts it)."""

from __future__ import annotations

import sys

from driftgate.plugin import serve
from driftgate_provider_aws import __version__
from driftgate_provider_aws.provider import SAMPLES, AwsProvider


def main() -> None:
    sys.exit(serve(AwsProvider(), version=__version__, samples=SAMPLES))
