"""Fake agent CLIs run by the wrapper tests as real programs (see ``helpers.agent``)."""
