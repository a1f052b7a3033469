"""Transports: how a finished HTTP request reaches the gateway. Swap them freely."""

from .base import HttpRequest, HttpResponse, Timeouts, Transport

__all__ = ["HttpRequest", "HttpResponse", "Timeouts", "Transport"]
