"""Lambda code archives built from a plan and the service's folder (see docs/aws.md, "Bundles")."""

from ._build import Bundle as Bundle
from ._build import build_bundle as build_bundle
from ._requirements import EXCLUDED as EXCLUDED
from ._requirements import BundleError as BundleError

__all__ = ["EXCLUDED", "Bundle", "BundleError", "build_bundle"]
