"""Bodies the contract (docs/api.md) fixes, shared by the tests that compare answers with them."""

# The one 404 body: hidden and unknown things must read the same.
NOT_FOUND = {"error": {"code": "not_found", "message": "Nothing was found here."}}
UNKNOWN_RESOURCE = "01nosuchresource0000000000"
