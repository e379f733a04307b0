// The API docs: Swagger UI (served from npm by the API itself) over the app's OpenAPI document.
// A file, not an inline script, so that the pages' Content-Security-Policy needs no 'unsafe-inline'.

window.ui = window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null, // the default asks an outside validator service for a badge
  presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
});
