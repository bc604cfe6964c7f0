"""remora-train: turn a library, its docs or a company repository into a language pack."""
