"""Hugging Face dataset builders; installed as ``ntp_datasets.builders``."""
