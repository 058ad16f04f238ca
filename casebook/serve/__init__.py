"""Serving: the learners' and instructors' Voila servers, their kernel managers and config.

Imports Voila and Jupyter Server; nothing else in the casebook imports this package.
"""
