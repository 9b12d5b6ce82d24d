"""SMTP: the finance email with the reconciliation report (HTML, inline chart, CSV attachment)."""

from connectors.smtp_email.client import SECURITY_MODES, Security, SmtpMailer, build_finance_email
from connectors.smtp_email.errors import SmtpDeliveryError, SmtpError

__all__ = [
    "SECURITY_MODES",
    "Security",
    "SmtpDeliveryError",
    "SmtpError",
    "SmtpMailer",
    "build_finance_email",
]
