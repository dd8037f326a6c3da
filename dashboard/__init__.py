"""The operators' dashboard over the ``results`` app."""
