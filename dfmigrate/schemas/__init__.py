"""JSON Schemas of dfmigrate's ``--format json`` outputs, shipped as package data."""
