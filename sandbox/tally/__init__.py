"""Tally Prime simulator: its HTTP XML server on loopback, one stateful company, shared faults."""

from sandbox.tally.simulator import DEFAULT_COMPANY, TallySimulator, render_fault_error
from sandbox.tally.state import Counts, Master, ObjectError, TallyState, Voucher

__all__ = [
    "DEFAULT_COMPANY",
    "Counts",
    "Master",
    "ObjectError",
    "TallySimulator",
    "TallyState",
    "Voucher",
    "render_fault_error",
]
