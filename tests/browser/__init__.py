"""Browser tests: Chromium against a real Voila server (a package, so its conftest and test
modules do not shadow those in tests/)."""
