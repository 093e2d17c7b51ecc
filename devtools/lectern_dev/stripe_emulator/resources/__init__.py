"""The engine's rules, one module per Stripe resource, put together by `engine.Engine`."""
