"""Signatures: electronic signatures on decisions (Part 11) and the API's signing of human input."""
