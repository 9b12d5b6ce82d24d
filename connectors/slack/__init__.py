"""Slack: the reconciliation summary posted to an incoming webhook."""

from connectors.slack.client import SlackWebhook, summary_payload
from connectors.slack.errors import SlackDeliveryError, SlackError

__all__ = ["SlackDeliveryError", "SlackError", "SlackWebhook", "summary_payload"]
