"""Deterministic synthetic SaaS company: billing, ERP, revrec, usage, and planted faults."""

from .company import CompanySummary, generate_company
from .rates import Rates, RatesError

__all__ = ["CompanySummary", "Rates", "RatesError", "generate_company"]
