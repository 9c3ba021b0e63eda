"""Ember-CSI 0.9.1 run unmodified on this library."""
