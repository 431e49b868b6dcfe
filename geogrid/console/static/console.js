/* The staff console's own script: small glue around htmx, no framework.
 * - forms and buttons with data-confirm ask before they submit (htmx's hx-confirm does the
 *   same for htmx requests);
 * - window.geogridConsole.csrf(): the session's CSRF token, for scripts that call /v1 with
 *   fetch (the session cookie goes with them; a write needs the token as X-CSRF-Token).
 */
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function api(method, url, body) {
    var headers = {"Accept": "application/json", "X-CSRF-Token": csrf()};
    var init = {method: method, headers: headers, credentials: "same-origin"};
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = {detail: text}; }
        return {ok: r.ok, status: r.status, data: data};
      });
    });
  }
  window.geogridConsole = {csrf: csrf, api: api};
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  }, true);
})();
