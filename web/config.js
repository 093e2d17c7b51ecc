// Where the storefront finds the HTTP API. Deployed, the storefront's own distribution serves the
// API under /api (one origin, no CORS): `make deploy` uploads exactly this value. The local stack
// serves its own generated /config.js instead (devtools/lectern_dev/web_server.py).
export default { apiBase: "/api" };
