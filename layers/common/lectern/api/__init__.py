"""HTTP plumbing shared by every API function: error envelope, resolver, auth."""
