// Starts Swagger UI (grader/static/vendor/swagger-ui, from npm's swagger-ui-dist) on the service's OpenAPI
// document for /api/docs. A file of its own because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout", // no top bar: this page shows this service's document only
    deepLinking: true, // #/tag/operation addresses open that operation
    docExpansion: "list",
    defaultModelsExpandDepth: 0, // the schemas stay folded at the bottom; each body shows its own
    displayRequestDuration: true,
    showCommonExtensions: true,
    validatorUrl: null, // never send the document to an outside validator
    persistAuthorization: false, // the token stays in this tab's memory, never in localStorage
    withCredentials: false,
    supportedSubmitMethods: ["get", "post", "put", "patch", "delete"]
  });
})();
