"""Shared package of the claims engine: boundary models, store schema, calendar, settings, logging."""
