"""Ready custom layers that can be wrapped by `bidirlib.Bidirectional` in either direction."""
