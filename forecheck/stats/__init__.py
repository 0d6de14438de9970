"""Statistical building blocks shared by the checks (no I/O, no rendering)."""
