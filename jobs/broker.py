"""Talking to the Celery broker on behalf of jobs: reachability (from config.celery) and publishing."""

from config.celery import app, broker_status, masked_broker_url

__all__ = ["app", "broker_status", "masked_broker_url"]
