"""The pack format version this remora-review reads and writes (standard library only: the
no-pack hook path reads it without pydantic)."""

# 2: api.json lists each class's own members (flattened over the MRO on load), and the name
# statistics file is named in the manifest (`names`).
FORMAT_VERSION = 2
