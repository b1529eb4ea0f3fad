"""The Lambda code every renderer deploys, bundled without Docker (see docs/aws.md, "Bundles")."""

from ._build import Bundle as Bundle
from ._build import build_bundle as build_bundle
from ._options import CACHE_ENV_VAR as CACHE_ENV_VAR
from ._options import FORBIDDEN as FORBIDDEN
from ._options import BundleError as BundleError
from ._options import BundleOptions as BundleOptions

__all__ = ["CACHE_ENV_VAR", "FORBIDDEN", "Bundle", "BundleError", "BundleOptions", "build_bundle"]
