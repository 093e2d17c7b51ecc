"""PynamoDB models, one module per table. See docs/data-model.md for the
access patterns each key and index serves."""
