"""Endpoints: requests over the openai SDK, wire formats, capability profiles, offline and local models."""
