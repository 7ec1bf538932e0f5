"""Test-only engines and launchers shared by unit, integration and bench code."""
