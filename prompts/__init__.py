"""Jinja2 prompt templates (``*.j2``) rendered by ``ntp_datasets.prompts``."""
