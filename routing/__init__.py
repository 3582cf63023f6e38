"""Routing: stations and their hierarchy, officers and duty rosters, assignment rules."""
