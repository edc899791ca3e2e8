"""Authentication, in layers: `core/` (the caller, errors, passwords, revocations),
`tokens/` (the access-token lifecycle), `methods/` (one credential scheme each),
and on top `schemes` and `current` (who the caller is) and `dependencies`."""
