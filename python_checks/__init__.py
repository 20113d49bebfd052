"""pytest checks of the CLV project: an independent pandas reference and the tests against it."""
