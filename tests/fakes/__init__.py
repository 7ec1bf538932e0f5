"""Local fakes of cloud APIs, for tests and benchmarks."""
