"""Language packs: manifest, loading and verification, discovery, installation."""
