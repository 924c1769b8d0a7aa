"""HTTP plumbing shared by the FastAPI services: authentication, operations routes."""
