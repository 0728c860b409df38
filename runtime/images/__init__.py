"""Container images: registering them (from a registry or an uploaded archive), storing their
blobs in the database, and unpacking them on a worker for ``code.container`` steps."""
