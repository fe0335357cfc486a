"""podtriage: explain why a Kubernetes pod is Pending."""

__version__ = "0.1.0"

# Version of the -o json/yaml document layout (podtriage/schema/explain-v1.json).
SCHEMA_VERSION = "podtriage.dev/v1"
