"""PHI handling: field classification, content detection, the review queue, the BAA gate,
redaction, encryption at rest and log scrubbing."""
