"""What the broker does for each OSB request: instances, bindings, keys, rotation, rollback."""
