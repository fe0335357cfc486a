"""`podtriage watch`: the audit's answers continuously, from watches, served over HTTP for alerting."""
