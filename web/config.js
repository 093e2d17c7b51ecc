// Where the storefront finds the HTTP API. The local stack serves its own generated
// /config.js (devtools/lectern_dev/web_server.py); for a deployment, write this file with the
// stack's ApiUrl output before uploading web/ (docs/storefront.md).
export default { apiBase: "http://127.0.0.1:3000" };
