"""Test-wide setup: one signing key ring for the API and workers these tests run in-process."""

from __future__ import annotations

from domain.signatures.signing import Keyring
from infra import signing

TEST_SIGNING_KEY = "test-signing-key-not-secret-0123456789"
TEST_KEYRING = Keyring.from_secrets(TEST_SIGNING_KEY)
signing.install(TEST_KEYRING)
