"""An example of an engine for simglass in a package of its own (docs/writing_an_engine.md)."""
