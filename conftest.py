"""Loaded before any package's tests: marks the public conformance suites for assert rewriting.

The suites are test code shipped in eventual-engine and eventual-messaging, imported by
the tests of several packages. pytest can only rewrite a module's asserts (to show the
compared values when a check fails) if it is marked before anything imports it, and one
package's tests would otherwise import it before the next package's conftest marks it.
"""

import pytest

pytest.register_assert_rewrite("eventual_engine.conformance", "eventual_messaging.conformance")
