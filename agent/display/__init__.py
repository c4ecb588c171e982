"""How a transcript reads to a person, with no UI toolkit: control sequences made inert, long output folded
around the lines that carry a failure, error marks, and counts worded honestly. The headless printer and
the app both use it."""
