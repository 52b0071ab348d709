using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Security;

// HOW TO ADD A ROUTE
// Every route the app maps (RouteInventory.FromApp: endpoints, Razor pages and each page handler) and every route in
// /api/openapi.json must have one line in AccessMatrix.Rows below, or Every_route_the_app_maps_has_a_row fails and
// names it. One line per route: its key exactly as that test prints it ("GET /projects/{id:long}",
// "POST /projects/{id:long}?handler=Deploy", "ANY /api/{**rest}"), the concrete path to call (placeholders {p} A's
// project id, {slug} A's project slug, {d} A's deployment id, {u} A's user id, {t} A's API token id), and the answer
// for each caller: anonymous, member B (owns another project), member A (owns the project), admin.
//   Login    = 302 to /login (a page, anonymous)         Denied = 302 to /forbidden (an admin page, a member)
//   303      = the action was done (POST-redirect-GET) and sent the caller anywhere but /login or /forbidden
//   any other number = that status. A's objects are 404 for B (never 403: B may not learn they exist).
// State-changing calls send Body: form fields (pages, sent with the caller's valid antiforgery token) or JSON (/api).
// Prefer a body the handler refuses (422) after its access check: the status proves the check passed, nothing changes.
// A call that destroys its object (delete, revoke, sign out) sets Fresh so each caller gets a new object of A's.
// Every body B and anonymous receive is searched for A's data (and A's for B's); see AccessWorld.SecretsHiddenFrom.

/// <summary>What one caller must get: a status, and for redirects where it must (not) point.</summary>
/// ByPage: the page itself redirects (not the sign-in challenge), so htmx gets the same redirect as a browser.
public readonly record struct Expect(int Status, string? Location = null, bool ByPage = false)
{
    public static implicit operator Expect(int status) => new(status);
    public static readonly Expect Login = new(302, "/login");
    public static readonly Expect Denied = new(302, "/forbidden");
    public override string ToString() => Location is null ? Status.ToString() : $"{Status} → {Location}";
}

/// <summary>Objects a call destroys; the matrix makes a new one of A's for each caller.</summary>
public enum Fresh { None, Project, Token, Session }

public sealed record Row(string Route, string Path, Expect Anonymous, Expect Other, Expect Owner, Expect Admin)
{
    public string? Body { get; init; }
    public Fresh Fresh { get; init; }
    /// <summary>Words the answer must contain (that it was refused for the reason the row is about).</summary>
    public string? Says { get; init; }
    /// <summary>The method to call with: the route's own, GET for a route that takes any.</summary>
    public string Method => Route[..Route.IndexOf(' ')] is var m && m == "ANY" ? "GET" : m;
    public bool IsApi => Path.StartsWith("/api/", StringComparison.Ordinal);
}

public static class AccessMatrix
{
    static readonly Expect Login = Expect.Login, Denied = Expect.Denied, SignedOut = new(303, "/login"), BackToLogin = new(302, "/login", ByPage: true);

    // One line per route; keep them sorted by area. 422 = refused as invalid after the access check (nothing saved).
    public static readonly Row[] Rows =
    [
        // Anonymous by design.
        new("GET /healthz", "/healthz", 200, 200, 200, 200),
        new("GET /static/{**path}", "/static/css/site.css", 200, 200, 200, 200),
        new("HEAD /static/{**path}", "/static/js/app.js", 200, 200, 200, 200),
        new("GET /favicon.ico", "/favicon.ico", 200, 200, 200, 200),
        new("HEAD /favicon.ico", "/favicon.ico", 200, 200, 200, 200),
        new("GET /caddy/ask", "/caddy/ask?domain=alpha-secret.test", 200, 200, 200, 200),
        new("GET /error", "/error?code=404", 200, 200, 200, 200),
        new("POST /error", "/error?code=404", 200, 200, 200, 200),
        new("PUT /error", "/error?code=404", 200, 200, 200, 200),
        new("PATCH /error", "/error?code=404", 200, 200, 200, 200),
        new("DELETE /error", "/error?code=404", 200, 200, 200, 200),
        new("GET /forbidden", "/forbidden", 403, 403, 403, 403),
        new("GET /setup", "/setup", 404, 404, 404, 404),
        new("POST /setup", "/setup", 404, 404, 404, 404) { Body = "token=x&email=evil@example.com&password=evil password 1" },
        new("GET /login", "/login", 200, 200, 200, 200),
        new("POST /login", "/login", 422, 422, 422, 422) { Body = "email=nobody@example.com&password=wrong password" },
        new("GET /logout", "/logout", 302, 302, 302, 302),
        new("POST /logout", "/logout", SignedOut, SignedOut, SignedOut, SignedOut) { Fresh = Fresh.Session },
        new("GET /webhooks/{slug}", "/webhooks/{slug}", 405, 405, 405, 405),
        new("POST /webhooks/{slug}", "/webhooks/{slug}", 401, 401, 401, 401) { Body = "{}" },
        new("GET /api/openapi.json", "/api/openapi.json", 200, 200, 200, 200),
        new("ANY /api/{**rest}", "/api/no-such-route", 404, 404, 404, 404),

        // Signed-in pages of one's own.
        new("GET /", "/", Login, 200, 200, 200),
        new("GET /account", "/account", Login, 200, 200, 200),
        new("POST /account", "/account", Login, 422, 422, 422) { Body = "currentPassword=wrong&newPassword=short" },
        new("POST /account?handler=EndOthers", "/account?handler=EndOthers", Login, 303, 303, 303),
        new("GET /account/two-factor", "/account/two-factor", Login, 200, 200, 200),
        new("POST /account/two-factor?handler=Confirm", "/account/two-factor?handler=Confirm", Login, 422, 422, 422) { Body = "code=000000" },
        new("POST /account/two-factor?handler=RecoveryCodes", "/account/two-factor?handler=RecoveryCodes", Login, 422, 422, 422) { Body = "code=000000" },
        new("POST /account/two-factor?handler=Disable", "/account/two-factor?handler=Disable", Login, 422, 422, 422) { Body = "code=000000" },
        // Without a pending second step the page sends everyone back to /login itself (no sign-in challenge).
        new("GET /login/code", "/login/code", BackToLogin, BackToLogin, BackToLogin, BackToLogin),
        new("POST /login/code", "/login/code", 422, 422, 422, 422) { Body = "code=000000" },
        new("GET /api/projects/{slug}/shared-variables", "/api/projects/{slug}/shared-variables", 401, 404, 200, 200),
        new("PUT /api/projects/{slug}/shared-variables", "/api/projects/{slug}/shared-variables", 401, 404, 422, 422) { Body = "[\"NO_SUCH_SHARED_KEY\"]" },
        new("GET /tokens", "/tokens", Login, 200, 200, 200),
        new("POST /tokens?handler=Create", "/tokens?handler=Create", Login, 422, 422, 422) { Body = "name=&expiresInDays=" },
        new("POST /tokens?handler=Revoke", "/tokens?handler=Revoke&id={t}", Login, 404, 303, 404) { Fresh = Fresh.Token },
        new("GET /projects", "/projects", Login, 200, 200, 200),
        // Services: members create their own; A's is 404 to B. A's is linked to A's project, so Delete is refused (nothing changes).
        new("GET /services", "/services", Login, 200, 200, 200),
        new("GET /services/new", "/services/new", Login, 200, 200, 200),
        new("POST /services/new", "/services/new", Login, 422, 422, 422) { Body = "engine=mongodb&name=x" },
        new("GET /services/{name}", "/services/alpha-secret-db", Login, 404, 200, 200),
        new("GET /services/{name}/logs", "/services/alpha-secret-db/logs", Login, 404, 200, 200),
        new("POST /services/{name}?handler=Password", "/services/alpha-secret-db?handler=Password", Login, 404, 200, 200),
        new("POST /services/{name}?handler=Link", "/services/alpha-secret-db?handler=Link", Login, 404, 422, 422) { Body = "project=no-such-project" },
        new("POST /services/{name}?handler=Unlink", "/services/alpha-secret-db?handler=Unlink", Login, 404, 422, 422) { Body = "project=no-such-project" },
        new("POST /services/{name}?handler=Power", "/services/alpha-secret-db?handler=Power", Login, 404, 422, 422) { Body = "action=explode" },
        new("POST /services/{name}?handler=Version", "/services/alpha-secret-db?handler=Version", Login, 404, 422, 422) { Body = "version=latest" },
        new("POST /services/{name}?handler=Delete", "/services/alpha-secret-db?handler=Delete", Login, 404, 422, 422) { Body = "deleteVolume=true" },
        new("GET /projects/new", "/projects/new", Login, 200, 200, 200),
        new("POST /projects/new", "/projects/new", Login, 422, 422, 422) { Body = "name=&gitUrl=&branch=main" },

        // A's project, its deployments and variables: 404 for B.
        new("GET /projects/{id:long}", "/projects/{p}", Login, 404, 200, 200),
        new("POST /projects/{id:long}?handler=Deploy", "/projects/{p}?handler=Deploy", Login, 404, 303, 303),
        new("POST /projects/{id:long}?handler=GenerateKey", "/projects/{p}?handler=GenerateKey", Login, 404, 303, 303),
        new("POST /projects/{id:long}?handler=NewWebhookSecret", "/projects/{p}?handler=NewWebhookSecret", Login, 404, 303, 303),
        new("POST /projects/{id:long}?handler=SaveDockerfile", "/projects/{p}?handler=SaveDockerfile", Login, 404, 422, 422) { Body = "dockerfile=" },
        new("POST /projects/{id:long}?handler=RemoveDockerfile", "/projects/{p}?handler=RemoveDockerfile", Login, 404, 303, 303),
        new("POST /projects/{id:long}?handler=AddEnvironment", "/projects/{p}?handler=AddEnvironment", Login, 404, 422, 422) { Body = "environmentName=bad name&environmentBranch=develop" },
        new("POST /projects/{id:long}?handler=Previews", "/projects/{p}?handler=Previews", Login, 404, 303, 303) { Body = "enabled=false" },
        new("POST /projects/{id:long}?handler=Promote", "/projects/{p}?handler=Promote", Login, 404, 422, 422) { Body = "from=nope&to=production" },
        new("GET /projects/{id:long}/edit", "/projects/{p}/edit", Login, 404, 200, 200),
        new("POST /projects/{id:long}/edit", "/projects/{p}/edit", Login, 404, 422, 422) { Body = "gitUrl=&branch=main&containerPort=0" },
        new("POST /projects/{id:long}/edit?handler=Delete", "/projects/{p}/edit?handler=Delete", Login, 404, 303, 303) { Body = "confirm={slug}", Fresh = Fresh.Project },
        new("GET /projects/{id:long}/domains", "/projects/{p}/domains", Login, 404, 200, 200),
        new("POST /projects/{id:long}/domains", "/projects/{p}/domains", Login, 404, 422, 422) { Body = "host=bad {domain&primary=0" },
        new("GET /projects/{id:long}/terminal", "/projects/{p}/terminal", Login, 404, 200, 200),
        // A plain GET (the matrix sends no Upgrade): 404 for B before anything else; the owner and admin are told it
        // takes a WebSocket. The socket itself (Origin, another member's cookie) is in Terminal/TerminalTests.
        new("GET /projects/{id:long}/terminal/ws", "/projects/{p}/terminal/ws", Login, 404, 400, 400),
        new("GET /projects/{id:long}/variables", "/projects/{p}/variables", Login, 404, 200, 200),
        new("GET /projects/{id:long}/variables?handler=Export", "/projects/{p}/variables?handler=Export", Login, 404, 200, 200),
        new("POST /projects/{id:long}/variables?handler=Save", "/projects/{p}/variables?handler=Save", Login, 404, 422, 422) { Body = "key=1 bad key&value=x" },
        new("POST /projects/{id:long}/variables?handler=Delete", "/projects/{p}/variables?handler=Delete", Login, 404, 303, 303) { Body = "key=NO_SUCH_KEY" },
        new("POST /projects/{id:long}/variables?handler=Env", "/projects/{p}/variables?handler=Env", Login, 404, 422, 422) { Body = "env=1 bad line without equals" },
        new("POST /projects/{id:long}/variables?handler=Shared", "/projects/{p}/variables?handler=Shared", Login, 404, 303, 303),
        // Service dumps (no service is seeded here: signed-in callers get its not-found; Services/ServiceDumpTests covers the rest).
        new("GET /services/{name}/dumps", "/services/no-such-svc/dumps", Login, 404, 404, 404),
        new("GET /services/{name}/dumps?handler=List", "/services/no-such-svc/dumps?handler=List", Login, 404, 404, 404),
        new("GET /services/{name}/dumps?handler=Download", "/services/no-such-svc/dumps?handler=Download&id=1", Login, 404, 404, 404),
        new("POST /services/{name}/dumps?handler=Make", "/services/no-such-svc/dumps?handler=Make", Login, 404, 404, 404),
        new("POST /services/{name}/dumps?handler=Restore", "/services/no-such-svc/dumps?handler=Restore", Login, 404, 404, 404) { Body = "id=1" },
        new("POST /services/{name}/dumps?handler=Schedule", "/services/no-such-svc/dumps?handler=Schedule", Login, 404, 404, 404) { Body = "schedule=&keep=7" },
        // Volumes (issue 15): a volume A's project does not have is a 404 for everyone who may see the project.
        new("GET /projects/{id:long}/volumes", "/projects/{p}/volumes", Login, 404, 200, 200),
        new("GET /projects/{id:long}/metrics", "/projects/{p}/metrics?range=24h", Login, 404, 200, 200),
        new("GET /metrics/host", "/metrics/host?range=7d", Login, 403, 403, 200),
        new("GET /projects/{id:long}/running", "/projects/{p}/running", Login, 404, 200, 200),
        // The matrix's project has no live deployment: a clear refusal (Running/AppPower), 422 so htmx shows it.
        new("POST /projects/{id:long}/running", "/projects/{p}/running", Login, 404, 422, 422) { Body = "action=restart" },
        new("GET /projects/{id:long}/volumes?handler=Archive", "/projects/{p}/volumes?handler=Archive&name=nope", Login, 404, 404, 404),
        new("POST /projects/{id:long}/volumes?handler=Add", "/projects/{p}/volumes?handler=Add", Login, 404, 422, 422) { Body = "name=Bad Name&mountPath=relative" },
        new("POST /projects/{id:long}/volumes?handler=Remove", "/projects/{p}/volumes?handler=Remove&name=nope", Login, 404, 404, 404),
        new("POST /projects/{id:long}/volumes?handler=Restore", "/projects/{p}/volumes?handler=Restore&name=nope", Login, 404, 404, 404),
        new("GET /projects/{id:long}/notifications", "/projects/{p}/notifications", Login, 404, 200, 200),
        new("POST /projects/{id:long}/notifications", "/projects/{p}/notifications", Login, 404, 422, 422) { Body = "channel=999999" },
        new("GET /deployments/{id:long}", "/deployments/{d}", Login, 404, 200, 200),
        new("GET /deployments/{id:long}?handler=Summary", "/deployments/{d}?handler=Summary", Login, 404, 200, 200),
        new("POST /deployments/{id:long}?handler=Cancel", "/deployments/{d}?handler=Cancel", Login, 404, 303, 303),
        new("POST /deployments/{id:long}?handler=Rollback", "/deployments/{d}?handler=Rollback", Login, 404, 422, 422),
        new("POST /deployments/{id:long}?handler=Redeploy", "/deployments/{d}?handler=Redeploy", Login, 404, 422, 422),
        new("GET /deployments/{id:long}/container-logs", "/deployments/{d}/container-logs", Login, 404, 200, 200),
        new("GET /deployments/{id:long}/log", "/deployments/{d}/log", Login, 404, 200, 200),
        new("GET /deployments/{id:long}/log/chunk", "/deployments/{d}/log/chunk?before=100000", Login, 404, 200, 200),
        new("GET /deployments/{id:long}/events", "/deployments/{d}/events", Login, 404, 200, 200),
        // Pin / unpin (Hygiene/PinnedDeployments): the page's form only; a value other than true/false is refused after the access check.
        new("GET /deployments/{id:long}/pin", "/deployments/{d}/pin", Login, 404, 404, 404),
        new("POST /deployments/{id:long}/pin", "/deployments/{d}/pin", Login, 404, 422, 422) { Body = "pinned=maybe" },

        // Admin pages: members are sent to /forbidden.
        new("GET /settings", "/settings", Login, Denied, Denied, 200),
        new("POST /settings", "/settings", Login, Denied, Denied, 422) { Body = "baseDomain=bad {domain&panelDomain=" },
        new("GET /variables", "/variables", Login, Denied, Denied, 200),
        new("GET /variables?handler=Export", "/variables?handler=Export", Login, Denied, Denied, 200),
        new("POST /variables?handler=Save", "/variables?handler=Save", Login, Denied, Denied, 422) { Body = "key=1 bad key&value=x" },
        new("POST /variables?handler=Delete", "/variables?handler=Delete", Login, Denied, Denied, 303) { Body = "key=NO_SUCH_KEY" },
        new("POST /variables?handler=Env", "/variables?handler=Env", Login, Denied, Denied, 422) { Body = "env=1 bad line without equals" },
        new("GET /volumes", "/volumes", Login, Denied, Denied, 200),
        new("POST /volumes?handler=Delete", "/volumes?handler=Delete&name=not-an-orphan", Login, Denied, Denied, 422),
        new("GET /users", "/users", Login, Denied, Denied, 200),
        new("POST /users?handler=TwoFactor", "/users?handler=TwoFactor", Login, Denied, Denied, 303) { Body = "required=false" },
        new("GET /audit", "/audit", Login, Denied, Denied, 200),
        // Disk hygiene (admins): the page, its "Clean up now", and the API the CLI uses.
        new("GET /disk", "/disk", Login, Denied, Denied, 200),
        new("POST /disk", "/disk", Login, Denied, Denied, 200),
        new("POST /api/system/cleanup", "/api/system/cleanup", 401, 403, 403, 200),
        new("GET /api/system/disk", "/api/system/disk", 401, 403, 403, 200),
        new("GET /notifications", "/notifications", Login, Denied, Denied, 200),
        new("POST /notifications", "/notifications", Login, Denied, Denied, 422) { Body = "type=webhook&name=x&webhook.url=http://127.0.0.1/&webhook.secret=short" },
        new("GET /notifications/{id:long}", "/notifications/999999", Login, Denied, Denied, 404),
        new("POST /notifications/{id:long}", "/notifications/999999", Login, Denied, Denied, 404) { Body = "type=webhook&name=x" },
        new("POST /notifications/{id:long}?handler=Test", "/notifications/999999?handler=Test", Login, Denied, Denied, 404),
        new("POST /notifications/{id:long}?handler=Delete", "/notifications/999999?handler=Delete", Login, Denied, Denied, 404),
        new("GET /api/audit", "/api/audit", 401, 403, 403, 200),
        new("GET /api/notification-channels", "/api/notification-channels", 401, 403, 403, 200),
        new("POST /api/notification-channels", "/api/notification-channels", 401, 403, 403, 422) { Body = """{"type":"webhook","name":"x","settings":{"url":"http://127.0.0.1/","secret":"short"}}""" },
        new("DELETE /api/notification-channels/{id:long}", "/api/notification-channels/999999", 401, 403, 403, 404),
        new("POST /api/notification-channels/{id:long}/test", "/api/notification-channels/999999/test", 401, 403, 403, 404) { Body = "{}" },
        new("GET /api/notification-channels/{id:long}/deliveries", "/api/notification-channels/999999/deliveries", 401, 403, 403, 404),
        new("GET /api/settings", "/api/settings", 401, 403, 403, 200),
        new("PUT /api/settings", "/api/settings", 401, 403, 403, 422) { Body = """{"panelDomain":"bad {domain"}""" },
        // Servers (issue 21; admins). The matrix's engine is the system one, in no swarm: every call is refused before
        // anything changes (a bad address, or 409 "not a cluster manager"), so no swarm is ever made there.
        new("GET /servers", "/servers", Login, Denied, Denied, 200),
        new("POST /servers?handler=Init", "/servers?handler=Init", Login, Denied, Denied, 422) { Body = "advertiseAddress=not-an-address" },
        new("POST /servers?handler=JoinToken", "/servers?handler=JoinToken", Login, Denied, Denied, 409),
        new("POST /servers?handler=Availability", "/servers?handler=Availability&id=nope", Login, Denied, Denied, 409) { Body = "availability=drain" },
        new("POST /servers?handler=Labels", "/servers?handler=Labels&id=nope", Login, Denied, Denied, 422) { Body = "labels=no-equals-sign" },
        new("POST /servers?handler=Remove", "/servers?handler=Remove&id=nope", Login, Denied, Denied, 409),
        new("GET /api/servers", "/api/servers", 401, 403, 403, 200),
        new("POST /api/servers/init", "/api/servers/init", 401, 403, 403, 400) { Body = """{"advertiseAddress":"not-an-address"}""" },
        new("POST /api/servers/join-token", "/api/servers/join-token", 401, 403, 403, 409) { Body = "{}" },
        new("PATCH /api/servers/{id}", "/api/servers/nope", 401, 403, 403, 422) { Body = """{"availability":"pause"}""" },
        new("DELETE /api/servers/{id}", "/api/servers/nope", 401, 403, 403, 409),
        // Public by design: join.sh and the call it makes with a one-time token (the token is the credential).
        new("GET /join.sh", "/join.sh", 200, 200, 200, 200),
        new("POST /api/servers/join", "/api/servers/join", 409, 409, 409, 409) { Body = """{"token":"vpj_not-a-token"}""" },
        // The release check (Upgrades/UpgradeCheckApi, the Settings page's switch); "false" keeps it off, so nothing is fetched.
        new("GET /api/settings/upgrade-check", "/api/settings/upgrade-check", 401, 403, 403, 200),
        new("PUT /api/settings/upgrade-check", "/api/settings/upgrade-check", 401, 403, 403, 422) { Body = """{"enabled":null}""" },
        new("POST /settings?handler=UpgradeCheck", "/settings?handler=UpgradeCheck", Login, Denied, Denied, 303) { Body = "enabled=false" },
        new("GET /variables/access", "/variables/access?key=ADMIN_SHARED_TOKEN", Login, Denied, Denied, 200),
        new("POST /variables/access?handler=Save", "/variables/access?handler=Save", Login, Denied, Denied, 422) { Body = "key=ADMIN_SHARED_TOKEN&mode=bogus" },
        new("GET /users/new", "/users/new", Login, Denied, Denied, 200),
        new("POST /users/new", "/users/new", Login, Denied, Denied, 422) { Body = "email=not-an-email&password=x&role=member" },
        new("GET /users/{id:long}", "/users/{u}", Login, Denied, Denied, 200),
        new("POST /users/{id:long}?handler=Access", "/users/{u}?handler=Access", Login, Denied, Denied, 422) { Body = "role=emperor&disabled=true" },
        new("POST /users/{id:long}?handler=Password", "/users/{u}?handler=Password", Login, Denied, Denied, 422) { Body = "newPassword=x" },

        // The API: bearer tokens only; anonymous 401, A's objects 404 for B.
        new("GET /api/me", "/api/me", 401, 200, 200, 200),
        new("GET /api/tokens", "/api/tokens", 401, 200, 200, 200),
        new("POST /api/tokens", "/api/tokens", 401, 422, 422, 422) { Body = """{"name":""}""" },
        new("DELETE /api/tokens/{id:long}", "/api/tokens/{t}", 401, 404, 204, 404) { Fresh = Fresh.Token },
        new("GET /api/projects", "/api/projects", 401, 200, 200, 200),
        new("POST /api/projects", "/api/projects", 401, 422, 422, 422) { Body = """{"name":"","gitUrl":""}""" },
        new("GET /api/projects/{slug}", "/api/projects/{slug}", 401, 404, 200, 200),
        new("GET /api/services", "/api/services", 401, 200, 200, 200),
        new("POST /api/services", "/api/services", 401, 422, 422, 422) { Body = """{"engine":"mongodb","name":"x"}""" },
        new("GET /api/services/{name}", "/api/services/alpha-secret-db", 401, 404, 200, 200),
        new("DELETE /api/services/{name}", "/api/services/alpha-secret-db", 401, 404, 409, 409),
        new("POST /api/services/{name}/links", "/api/services/alpha-secret-db/links", 401, 404, 422, 422) { Body = """{"project":"no-such-project"}""" },
        new("DELETE /api/services/{name}/links/{project}", "/api/services/alpha-secret-db/links/no-such-project", 401, 404, 404, 404),
        new("POST /api/services/{name}/start", "/api/services/alpha-secret-db/start", 401, 404, 502, 502),
        new("POST /api/services/{name}/stop", "/api/services/alpha-secret-db/stop", 401, 404, 502, 502),
        new("POST /api/services/{name}/restart", "/api/services/alpha-secret-db/restart", 401, 404, 502, 502),
        new("PUT /api/services/{name}/version", "/api/services/alpha-secret-db/version", 401, 404, 422, 422) { Body = """{"version":"latest"}""" },
        new("GET /api/services/{name}/logs", "/api/services/alpha-secret-db/logs", 401, 404, 409, 409),
        new("PATCH /api/projects/{slug}", "/api/projects/{slug}", 401, 404, 422, 422) { Body = """{"port":70000}""" },
        new("DELETE /api/projects/{slug}", "/api/projects/{slug}", 401, 404, 204, 204) { Fresh = Fresh.Project },
        new("GET /api/projects/{slug}/domains", "/api/projects/{slug}/domains", 401, 404, 200, 200),
        new("PUT /api/projects/{slug}/domains", "/api/projects/{slug}/domains", 401, 404, 422, 422) { Body = """{"domains":[{"hostname":"bad {domain"}]}""" },
        new("GET /api/projects/{slug}/variables", "/api/projects/{slug}/variables", 401, 404, 200, 200),
        new("PUT /api/projects/{slug}/variables", "/api/projects/{slug}/variables", 401, 404, 422, 422) { Body = """[{"key":"1 bad key","value":"x"}]""" },
        new("GET /api/projects/{slug}/volumes", "/api/projects/{slug}/volumes", 401, 404, 200, 200),
        new("GET /api/projects/{slug}/metrics", "/api/projects/{slug}/metrics?range=1h", 401, 404, 200, 200),
        new("GET /api/system/metrics", "/api/system/metrics?range=1h", 401, 403, 403, 200),
        new("PUT /api/projects/{slug}/volumes", "/api/projects/{slug}/volumes", 401, 404, 422, 422) { Body = """[{"name":"Bad Name","mountPath":"relative"}]""" },
        new("GET /api/projects/{slug}/notifications", "/api/projects/{slug}/notifications", 401, 404, 200, 200),
        new("PUT /api/projects/{slug}/notifications", "/api/projects/{slug}/notifications", 401, 404, 422, 422) { Body = """{"subscriptions":[{"channel":999999}]}""" },
        new("GET /api/projects/{slug}/volumes/{name}/archive", "/api/projects/{slug}/volumes/nope/archive", 401, 404, 404, 404),
        new("POST /api/projects/{slug}/volumes/{name}/restore", "/api/projects/{slug}/volumes/nope/restore", 401, 404, 404, 404) { Body = "{}" },
        new("GET /api/projects/{slug}/deployments", "/api/projects/{slug}/deployments", 401, 404, 200, 200),
        new("GET /api/projects/{slug}/environments", "/api/projects/{slug}/environments", 401, 404, 200, 200),
        new("GET /api/projects/{slug}/previews", "/api/projects/{slug}/previews", 401, 404, 200, 200),
        new("PUT /api/projects/{slug}/previews", "/api/projects/{slug}/previews", 401, 404, 400, 400) { Body = "{" },
        new("POST /api/projects/{slug}/environments", "/api/projects/{slug}/environments", 401, 404, 422, 422) { Body = """{"name":"bad name","branch":"develop"}""" },
        new("POST /api/projects/{slug}/environments/{env}/promote", "/api/projects/{slug}/environments/production/promote", 401, 404, 422, 422) { Body = """{"from":"nope"}""" },
        new("POST /api/projects/{slug}/start", "/api/projects/{slug}/start", 401, 404, 409, 409),
        new("POST /api/projects/{slug}/stop", "/api/projects/{slug}/stop", 401, 404, 409, 409),
        new("POST /api/projects/{slug}/restart", "/api/projects/{slug}/restart", 401, 404, 409, 409),
        new("GET /api/projects/{slug}/state", "/api/projects/{slug}/state", 401, 404, 200, 200),
        new("GET /api/projects/{slug}/events", "/api/projects/{slug}/events", 401, 404, 200, 200),
        new("GET /api/projects/{slug}/dockerfile", "/api/projects/{slug}/dockerfile", 401, 404, 409, 409),
        new("POST /api/projects/{slug}/deployments", "/api/projects/{slug}/deployments", 401, 404, 422, 422) { Body = """{"commit":"not-a-sha"}""" },
        new("GET /api/projects/{slug}/webhook-deliveries", "/api/projects/{slug}/webhook-deliveries", 401, 404, 200, 200),
        new("POST /api/projects/{slug}/webhook-secret", "/api/projects/{slug}/webhook-secret", 401, 404, 200, 200),
        new("GET /api/deployments/{id:long}", "/api/deployments/{d}", 401, 404, 200, 200),
        new("GET /api/deployments/{id:long}/log", "/api/deployments/{d}/log?follow=true", 401, 404, 200, 200),
        new("GET /api/deployments/{id:long}/container-logs", "/api/deployments/{d}/container-logs", 401, 404, 409, 409),
        new("POST /api/deployments/{id:long}/rollback", "/api/deployments/{d}/rollback", 401, 404, 409, 409),
        new("POST /api/deployments/{id:long}/cancel", "/api/deployments/{d}/cancel", 401, 404, 409, 409),
        // A's deployment never went live, so it has no image to pin (409 after the access check); unpinning changes nothing.
        new("PUT /api/deployments/{id:long}/pin", "/api/deployments/{d}/pin", 401, 404, 409, 409),
        new("DELETE /api/deployments/{id:long}/pin", "/api/deployments/{d}/pin", 401, 404, 200, 200),
        new("POST /api/services/{name}/dumps", "/api/services/no-such-svc/dumps", 401, 404, 404, 404),
        new("GET /api/services/{name}/dumps", "/api/services/no-such-svc/dumps", 401, 404, 404, 404),
        new("GET /api/services/{name}/dumps/{id:long}/file", "/api/services/no-such-svc/dumps/1/file", 401, 404, 404, 404),
        new("POST /api/services/{name}/dumps/{id:long}/restore", "/api/services/no-such-svc/dumps/1/restore", 401, 404, 404, 404),
        new("GET /api/services/{name}/dumps/schedule", "/api/services/no-such-svc/dumps/schedule", 401, 404, 404, 404),
        new("PUT /api/services/{name}/dumps/schedule", "/api/services/no-such-svc/dumps/schedule", 401, 404, 404, 404) { Body = """{"keep":7}""" },
    ];
}

public enum Caller { Anonymous, Other, Owner, Admin }

/// <summary>A member's project as seeded: ids to call with, and the strings no other member may ever see.</summary>
public sealed record Seeded(long Id, string Slug, long DeploymentId, string Email, List<string> Secrets);

/// <summary>The objects one call works on: A's seeded ones, or fresh ones for a call that destroys them.</summary>
public sealed record Targets(long ProjectId, string Slug, long DeploymentId, long UserId, long TokenId);

/// <summary>One panel (with a real Caddy: deleting a project rewrites its sites) for the whole matrix.</summary>
public sealed class AccessWorld : IAsyncLifetime
{
    public const string EmailA = "alpha-owner@example.com", EmailB = "bravo-owner@example.com";
    public const string MemberPassword = "a long member password";
    /// <summary>A's service; its name is in the service rows' paths.</summary>
    public const string ServiceA = "alpha-secret-db";
    public const string AdminSharedValue = "admin-shared-value-7f3k9q";

    public TestCaddy Caddy { get; private set; } = null!;
    public PanelProcess Panel { get; private set; } = null!;
    public Seeded A { get; private set; } = null!;
    public Seeded B { get; private set; } = null!;
    public long UserA { get; private set; }
    public Dictionary<Caller, PanelClient> Pages { get; } = [];
    public Dictionary<Caller, HttpClient> Api { get; } = [];
    readonly Dictionary<PanelClient, string> _antiforgery = [];
    readonly List<IDisposable> _owned = [];
    int _fresh;

    public async Task InitializeAsync()
    {
        // xunit does not dispose a fixture whose start failed: stop what was started, or it outlives the test run.
        try { await StartAsync(); }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    async Task StartAsync()
    {
        Caddy = await TestCaddy.StartAsync();
        // A's service runs from the local test images (nothing can be pulled).
        await TestServiceImages.EnsureImagesAsync();
        var settings = Caddy.PanelSettings();
        foreach (var (k, v) in TestServiceImages.Settings) settings[k] = v;
        Panel = await PanelProcess.StartAsync(settings);
        Pages[Caller.Admin] = await PanelSetup.SignedInAdminAsync(Panel);
        foreach (var email in new[] { EmailA, EmailB })
        {
            var added = await PanelCli.RunAsync(["user", "add", "--email", email, "--data-dir", Panel.DataDir], stdin: MemberPassword + "\n");
            Assert.True(added.ExitCode == 0, added.Stderr);
        }
        Pages[Caller.Owner] = await SignInAsync(EmailA, MemberPassword);
        Pages[Caller.Other] = await SignInAsync(EmailB, MemberPassword);
        Pages[Caller.Anonymous] = Own(new PanelClient(Panel));
        var tokens = await Task.WhenAll(TestApi.ForUserAsync(Panel, PanelSetup.AdminEmail), TestApi.ForUserAsync(Panel, EmailA), TestApi.ForUserAsync(Panel, EmailB));
        Api[Caller.Admin] = Own(tokens[0]).Http;
        Api[Caller.Owner] = Own(tokens[1]).Http;
        Api[Caller.Other] = Own(tokens[2]).Http;
        Api[Caller.Anonymous] = Own(new HttpClient { BaseAddress = new Uri(Panel.Url), Timeout = TimeSpan.FromSeconds(60) });

        A = await SeedAsync(tokens[1], EmailA, "Alpha Secret Shop", "https://git.alpha-secret.invalid/alpha/shop-repo.git", "alpha-secret.test", "ALPHA");
        B = await SeedAsync(tokens[2], EmailB, "Bravo Hidden Store", "https://git.bravo-hidden.invalid/bravo/store-repo.git", "bravo-hidden.test", "BRAVO");
        UserA = (long)(await tokens[1].GetAsync("/api/me"))["id"]!;
        // A's database service, linked to A's project (so deleting it is refused: the matrix's delete rows change nothing).
        var service = await tokens[1].SendAsync(HttpMethod.Post, "/api/services", $$"""{"engine":"redis","name":"{{ServiceA}}","memoryMb":64}""");
        Assert.True(service.Status == HttpStatusCode.Created, $"service: {service.Status} {service.Body}");
        var link = await tokens[1].SendAsync(HttpMethod.Post, $"/api/services/{ServiceA}/links", $$"""{"project":"{{A.Slug}}"}""");
        Assert.True(link.Status == HttpStatusCode.Created, $"link: {link.Status} {link.Body}");
        A.Secrets.Add(ServiceA);
        // Its container goes, so start/stop/restart are refused (502, "missing") after their access check: quick, and
        // nothing changes, where a real stop of a database under a loaded machine could outlast the matrix's 20 s.
        using (var docker = TestDocker.Client())
            await VpsPanel.Features.Docker.DockerAbsentOk.RemoveContainerIfExistsAsync(docker,
                $"vpspanel-{Deployments.DeployEnv.ReadPanelId(Panel.DataDir)}-svc-{ServiceA}", CancellationToken.None);
        // A secret shared variable of the admin's: its value must never reach a member.
        var shared = await Pages[Caller.Admin].SubmitAsync("/variables",
            new() { ["key"] = "ADMIN_SHARED_TOKEN", ["value"] = AdminSharedValue, ["secret"] = "true", ["runtime"] = "true" }, "/variables?handler=Save");
        Assert.True(shared.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"saving the shared variable answered {shared.Status}");
    }

    T Own<T>(T x) where T : IDisposable { _owned.Add(x); return x; }

    public PanelClient NewAnonymous() => Own(new PanelClient(Panel));

    public async Task<PanelClient> SignInAsync(string email, string password)
    {
        var client = Own(new PanelClient(Panel));
        var page = await client.LoginAsync(email, password);
        Assert.True(page.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"signing in {email} answered {page.Status}");
        return client;
    }

    /// <summary>A project with variables (one secret) and one deployment that ended (its clone fails: the host does not exist).</summary>
    static async Task<Seeded> SeedAsync(TestApi api, string email, string name, string gitUrl, string domain, string prefix)
    {
        var created = await api.CreateProjectAsync(name, gitUrl, domain, autoDeploy: false);
        var slug = (string)created["slug"]!;
        var lower = prefix.ToLowerInvariant();
        var vars = await api.SendAsync(HttpMethod.Put, $"/api/projects/{slug}/variables",
            $$"""[{"key":"{{prefix}}_PLAIN_SETTING","value":"{{lower}}-plain-value-q8"},{"key":"{{prefix}}_API_KEY","value":"{{lower}}-secret-value-z3","secret":true}]""");
        Assert.True(vars.Status == HttpStatusCode.OK, $"variables: {vars.Status} {vars.Body}");
        var deploy = await api.SendAsync(HttpMethod.Post, $"/api/projects/{slug}/deployments");
        Assert.True(deploy.Status == HttpStatusCode.Accepted, $"deploy: {deploy.Status} {deploy.Body}");
        var deploymentId = (long)deploy.Body!["id"]!;
        await api.WaitForEndAsync(deploymentId);
        var secrets = new List<string>
        {
            name, slug, gitUrl, new Uri(gitUrl).Host, domain, email, $"{prefix}_PLAIN_SETTING", $"{lower}-plain-value-q8", $"{prefix}_API_KEY",
            $"{lower}-secret-value-z3", (string)created["webhookSecret"]!, $"/deployments/{deploymentId}",
        };
        return new Seeded((long)created["id"]!, slug, deploymentId, email, secrets);
    }

    /// <summary>
    /// What <paramref name="caller"/> must never receive: anonymous nothing of anyone's, a member nothing of the other
    /// member's and not the admin's secret values. Read again at the end, so secrets the matrix rotated count too.
    /// </summary>
    public async Task<Dictionary<Caller, List<string>>> SecretsHiddenFromAsync()
    {
        var a = A.Secrets.Concat(await CurrentSecretsAsync(A)).ToList();
        var b = B.Secrets.Concat(await CurrentSecretsAsync(B)).ToList();
        return new()
        {
            [Caller.Anonymous] = [.. a, .. b, PanelSetup.AdminEmail, AdminSharedValue],
            [Caller.Other] = [.. a, PanelSetup.AdminEmail, AdminSharedValue],
            [Caller.Owner] = [.. b, AdminSharedValue],
        };
    }

    async Task<List<string>> CurrentSecretsAsync(Seeded s)
    {
        using var res = await Api[Caller.Admin].GetAsync($"/api/projects/{s.Slug}");
        if (!res.IsSuccessStatusCode) return [];
        var p = JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
        return new[] { (string?)p["webhookSecret"], (string?)p["sshPublicKey"] }.OfType<string>().Where(v => v.Length > 0)
            .Select(v => v.StartsWith("ssh-", StringComparison.Ordinal) ? v.Split(' ')[1] : v).ToList();
    }

    /// <summary>Everything about A that a refused call must leave as it was: project, domains, variables with values, deployments, tokens.</summary>
    public async Task<string> SnapshotOfAAsync()
    {
        var sb = new StringBuilder();
        foreach (var path in new[] { $"/api/projects/{A.Slug}", $"/api/projects/{A.Slug}/domains", $"/api/projects/{A.Slug}/deployments", "/api/me" })
            sb.Append(path).Append(": ").AppendLine(await Api[Caller.Owner].GetStringAsync(path));
        // A's own token (throwaway ones are checked one by one); lastUsedAt moves with every call, so it is left out.
        var tokens = JsonNode.Parse(await Api[Caller.Owner].GetStringAsync("/api/tokens"))!.AsArray().Where(t => (string)t!["name"]! == "test");
        sb.Append("tokens: ").AppendLine(string.Join(", ", tokens.Select(t => $"{t!["id"]} {t["state"]}")));
        sb.Append("variables: ").AppendLine(await Pages[Caller.Owner].Http.GetStringAsync($"/projects/{A.Id}/variables?handler=Export"));
        return sb.ToString();
    }

    /// <summary>The antiforgery token of this session, read once from a form it can load.</summary>
    public async Task<string> AntiforgeryAsync(PanelClient client, bool signedIn)
    {
        if (_antiforgery.TryGetValue(client, out var t)) return t;
        var page = await client.GetAsync(signedIn ? "/account" : "/login");
        return _antiforgery[client] = PanelClient.AntiforgeryToken(page) ?? throw new InvalidOperationException($"no antiforgery token on {(signedIn ? "/account" : "/login")}");
    }

    /// <summary>Fresh objects of A's for a call that destroys its target; A's seeded ones otherwise.</summary>
    public async Task<Targets> TargetsAsync(Fresh fresh)
    {
        var t = new Targets(A.Id, A.Slug, A.DeploymentId, UserA, 0);
        var n = Interlocked.Increment(ref _fresh);
        if (fresh == Fresh.Project)
        {
            using var res = await Api[Caller.Owner].PostAsync("/api/projects", TestApi.Json(new JsonObject
            {
                ["name"] = $"Alpha Throwaway {n}", ["gitUrl"] = "https://git.alpha-secret.invalid/alpha/throwaway.git", ["branch"] = "main",
                ["port"] = 8080, ["domains"] = new JsonArray($"alpha-throwaway-{n}.test"), ["autoDeploy"] = false,
            }.ToJsonString()));
            var p = JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
            Assert.True(res.StatusCode == HttpStatusCode.Created, $"throwaway project: {res.StatusCode} {p}");
            t = t with { ProjectId = (long)p["id"]!, Slug = (string)p["slug"]! };
        }
        if (fresh == Fresh.Token)
        {
            using var res = await Api[Caller.Owner].PostAsync("/api/tokens", TestApi.Json($$"""{"name":"throwaway {{n}}"}"""));
            var tok = JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
            Assert.True(res.StatusCode == HttpStatusCode.Created, $"throwaway token: {res.StatusCode} {tok}");
            t = t with { TokenId = (long)tok["id"]! };
        }
        return t;
    }

    /// <summary>Whether A's throwaway object is still there (after a caller who may not destroy it tried).</summary>
    public async Task<bool> StillThereAsync(Fresh fresh, Targets t)
    {
        if (fresh == Fresh.Project)
        {
            using var res = await Api[Caller.Owner].GetAsync($"/api/projects/{t.Slug}");
            return res.StatusCode == HttpStatusCode.OK;
        }
        if (fresh == Fresh.Token)
        {
            var list = JsonNode.Parse(await Api[Caller.Owner].GetStringAsync("/api/tokens"))!.AsArray();
            return list.Any(x => (long)x!["id"]! == t.TokenId && x["revokedAt"] is null);
        }
        return true;
    }

    public async Task DisposeAsync()
    {
        foreach (var d in _owned) d.Dispose();
        var panelId = Panel is null ? null : Deployments.DeployEnv.ReadPanelId(Panel.DataDir);
        if (Panel is not null) await Panel.DisposeAsync();
        if (Caddy is not null) await Caddy.DisposeAsync();
        if (panelId is not null)
        {
            // The service's container, volume and networks outlive the panel.
            using var docker = TestDocker.Client();
            var label = $"{VpsPanel.Features.Docker.PanelIdentity.Label}={panelId}";
            foreach (var c in await TestDocker.ContainersAsync(docker, label)) await VpsPanel.Features.Docker.DockerAbsentOk.RemoveContainerIfExistsAsync(docker, c.ID, CancellationToken.None);
            await TestDocker.RemoveVolumesAsync(docker, label);
            await TestDocker.RemoveNetworksAsync(docker, label);
        }
    }
}

/// <summary>What one call got.</summary>
public sealed record Reply(Caller Caller, Row Row, string Path, int Status, string? Location, string Text);

/// <summary>
/// The access matrix of issue 11: every route × {anonymous, member B, member A (owner), admin} on one real panel,
/// the expected status for each, nothing B or anonymous did changed A's things, and no body carries another user's data.
/// </summary>
public sealed class AccessMatrixTests(AccessWorld world, ITestOutputHelper output) : IClassFixture<AccessWorld>
{
    [Fact]
    public void Every_route_the_app_maps_has_a_row_in_the_matrix_and_every_row_a_route()
    {
        var routes = RouteInventory.FromApp();
        var rows = AccessMatrix.Rows.Select(r => r.Route).ToList();
        var duplicates = rows.GroupBy(r => r).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var missing = routes.Except(rows).ToList();
        var stale = rows.Except(routes).ToList();
        Assert.True(missing.Count == 0 && stale.Count == 0 && duplicates.Count == 0,
            $"Routes with no row in AccessMatrix.Rows (add one line each, see the top of AccessMatrixTests.cs):\n  {string.Join("\n  ", missing)}\n" +
            $"Rows for routes the app no longer maps:\n  {string.Join("\n  ", stale)}\nRows listed twice:\n  {string.Join("\n  ", duplicates)}");
    }

    [Fact]
    public async Task Every_API_route_in_openapi_json_has_a_row_and_every_API_row_is_documented()
    {
        static string Plain(string key) => System.Text.RegularExpressions.Regex.Replace(key, @"\{(\w+):[^}]+\}", "{$1}");
        var documented = await RouteInventory.FromOpenApiAsync(world.Panel.Url);
        var rows = AccessMatrix.Rows.Where(r => r.Route.Contains(" /api/", StringComparison.Ordinal)).Select(r => Plain(r.Route)).ToHashSet();
        // The catch-all and the document itself are not API operations.
        rows.Remove("ANY /api/{**rest}");
        rows.Remove("GET /api/openapi.json");
        Assert.True(documented.Count > 10, $"openapi.json lists only {documented.Count} routes");
        Assert.Equal(rows.Order(StringComparer.Ordinal), documented.Where(d => d.Contains(" /api/", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Each_caller_gets_the_expected_status_on_every_route_and_no_body_carries_another_users_data()
    {
        var failures = new List<string>();
        var replies = new List<Reply>();
        var rows = AccessMatrix.Rows.Where(r => r.Fresh != Fresh.Session).ToList();

        // First everything anonymous and B may try against A's things, then proof it changed nothing.
        var before = await world.SnapshotOfAAsync();
        foreach (var row in rows)
            foreach (var caller in new[] { Caller.Anonymous, Caller.Other })
                replies.Add(await RunAsync(caller, row, failures));
        var after = await world.SnapshotOfAAsync();
        if (before != after) failures.Add($"anonymous and member B changed A's things:\n--- before\n{before}\n--- after\n{after}");

        foreach (var row in rows)
            foreach (var caller in new[] { Caller.Owner, Caller.Admin })
                replies.Add(await RunAsync(caller, row, failures));
        // Sign-out last: however a sign-out ends sessions, the matrix's own sessions have no calls left to make.
        foreach (var row in AccessMatrix.Rows.Where(r => r.Fresh == Fresh.Session))
            foreach (var caller in Enum.GetValues<Caller>())
                replies.Add(await RunAsync(caller, row, failures));

        // The search is only worth something if the strings are spelled as the panel shows them: each of A's appears
        // in something A was answered.
        foreach (var s in world.A.Secrets.Where(s => !replies.Any(r => r.Caller == Caller.Owner && r.Text.Contains(s, StringComparison.OrdinalIgnoreCase))))
            failures.Add($"none of A's own answers shows \"{s}\"; the leak search for it proves nothing");
        await SearchForLeaksAsync(replies, failures);
        output.WriteLine($"{replies.Count} calls over {AccessMatrix.Rows.Length} routes");
        Assert.True(failures.Count == 0, $"{failures.Count} access failures:\n" + string.Join("\n", failures));
    }

    [Fact]
    public async Task Every_state_changing_page_handler_refuses_a_post_without_the_antiforgery_token()
    {
        var failures = new List<string>();
        var before = await world.SnapshotOfAAsync();
        // /error only shows a message (it is where failed POSTs are re-executed); webhooks are signed, not cookie-borne.
        var pagePosts = AccessMatrix.Rows.Where(r => r.Method != "GET" && r.Method != "HEAD" && !r.IsApi
            && !r.Path.StartsWith("/error", StringComparison.Ordinal) && !r.Path.StartsWith("/webhooks/", StringComparison.Ordinal));
        foreach (var row in pagePosts)
        {
            // The caller who could do it: an admin for admin pages, else the owner.
            var caller = row.Owner == Expect.Denied ? Caller.Admin : Caller.Owner;
            await RunAsync(caller, row, failures, expect: 400, withToken: false);
        }
        var after = await world.SnapshotOfAAsync();
        if (before != after) failures.Add($"posts without a token changed A's things:\n--- before\n{before}\n--- after\n{after}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task Htmx_requests_get_401_or_403_instead_of_a_redirect_htmx_would_swap_into_the_page()
    {
        // htmx follows a 302 and swaps the login page into a fragment; the panel answers 401 (with HX-Redirect) or 403.
        var failures = new List<string>();
        foreach (var row in AccessMatrix.Rows.Where(r => r.Fresh == Fresh.None))
        {
            if (row.Anonymous == Expect.Login) await RunAsync(Caller.Anonymous, row, failures, expect: 401, htmx: true);
            if (row.Other == Expect.Denied) await RunAsync(Caller.Other, row, failures, expect: 403, htmx: true);
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task The_API_does_not_accept_a_session_cookie()
    {
        // Cookies ride along on cross-site requests; the API has no antiforgery token, so it must take bearer tokens only.
        foreach (var caller in new[] { Caller.Owner, Caller.Admin })
        {
            var http = world.Pages[caller].Http;
            using var me = await http.GetAsync("/api/me");
            Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
            using var made = await http.PostAsync("/api/tokens", TestApi.Json("""{"name":"via cookie"}"""));
            Assert.Equal(HttpStatusCode.Unauthorized, made.StatusCode);
            using var patch = await http.PatchAsync($"/api/projects/{world.A.Slug}", TestApi.Json("""{"branch":"cookie-branch"}"""));
            Assert.Equal(HttpStatusCode.Unauthorized, patch.StatusCode);
        }
        Assert.Equal("main", (string)JsonNode.Parse(await world.Api[Caller.Owner].GetStringAsync($"/api/projects/{world.A.Slug}"))!["branch"]!);
    }

    [Fact]
    public async Task Claiming_another_members_domain_or_project_name_is_refused_without_naming_their_project()
    {
        var failures = new List<string>();
        var replies = new List<Reply>();
        var (b, taken) = (world.B, "alpha-secret.test");
        // HTML escapes the apostrophe; the JSON answers do not.
        const string Elsewhere = "already belongs to another user";
        var tries = new Row[]
        {
            new("POST /api/projects", "/api/projects", 0, 422, 0, 0) { Body = $$"""{"name":"Bravo Second","gitUrl":"https://git.bravo-hidden.invalid/b.git","branch":"main","port":8080,"domains":["{{taken}}"]}""", Says = Elsewhere },
            new("POST /api/projects", "/api/projects", 0, 422, 0, 0) { Body = """{"name":"Alpha Secret Shop","gitUrl":"https://git.bravo-hidden.invalid/b.git","branch":"main","port":8080,"domains":["bravo-second.test"]}""", Says = "already exists" },
            new("PUT /api/projects/{slug}/domains", $"/api/projects/{b.Slug}/domains", 0, 409, 0, 0) { Body = $$"""{"domains":[{"hostname":"{{taken}}"}]}""", Says = Elsewhere },
            new("PATCH /api/projects/{slug}", $"/api/projects/{b.Slug}", 0, 409, 0, 0) { Body = $$"""{"domains":["{{taken}}"]}""", Says = Elsewhere },
            new("POST /projects/{id:long}/domains", $"/projects/{b.Id}/domains", 0, 422, 0, 0) { Body = $"host={taken}&primary=0", Says = Elsewhere },
            new("POST /projects/new", "/projects/new", 0, 422, 0, 0)
                { Body = $"name=Bravo Third&gitUrl=https://git.bravo-hidden.invalid/b.git&branch=main&dockerfilePath=Dockerfile&contextDir=.&containerPort=8080&healthPath=/&domains={taken}&gitAuth=none", Says = Elsewhere },
        };
        var before = await world.SnapshotOfAAsync();
        var bProjects = await world.Api[Caller.Other].GetStringAsync("/api/projects");
        foreach (var row in tries) replies.Add(await RunAsync(Caller.Other, row, failures));
        Assert.Equal(before, await world.SnapshotOfAAsync());
        Assert.Equal(bProjects, await world.Api[Caller.Other].GetStringAsync("/api/projects"));
        // The domain and the name B typed are B's own words; A's project name, owner, repository and the rest are not.
        await SearchForLeaksAsync(replies, failures);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>Every body a caller got, searched for what is not theirs to see (less what they sent themselves).</summary>
    async Task SearchForLeaksAsync(List<Reply> replies, List<string> failures)
    {
        var hidden = await world.SecretsHiddenFromAsync();
        foreach (var r in replies)
        {
            if (!hidden.TryGetValue(r.Caller, out var secrets)) continue;
            // What they sent, also as a short name: a name typed is its slug too ("Alpha Secret Shop" → alpha-secret-shop).
            var sent = r.Path + " " + r.Row.Body + " " + (r.Row.Body ?? "").Replace(' ', '-');
            foreach (var s in secrets)
                if (!sent.Contains(s, StringComparison.OrdinalIgnoreCase) && r.Text.Contains(s, StringComparison.OrdinalIgnoreCase))
                    failures.Add($"{r.Caller} {r.Row.Method} {r.Path} ({r.Status}): the body carries \"{s}\", which is not theirs to see");
        }
    }

    /// <summary>Makes one call of the matrix and judges its status; returns what came back.</summary>
    async Task<Reply> RunAsync(Caller caller, Row row, List<string> failures, Expect? expect = null, bool withToken = true, bool htmx = false)
    {
        var wanted = expect ?? caller switch { Caller.Anonymous => row.Anonymous, Caller.Other => row.Other, Caller.Owner => row.Owner, _ => row.Admin };
        var t = await world.TargetsAsync(row.Fresh);
        string Fill(string s) => s.Replace("{p}", t.ProjectId.ToString()).Replace("{slug}", t.Slug).Replace("{d}", t.DeploymentId.ToString())
            .Replace("{u}", t.UserId.ToString()).Replace("{t}", t.TokenId.ToString());
        var path = Fill(row.Path);
        var body = row.Body is null ? null : Fill(row.Body);

        HttpClient http;
        using var req = new HttpRequestMessage(new HttpMethod(row.Method), path);
        if (htmx) req.Headers.Add("HX-Request", "true");
        if (row.IsApi)
        {
            http = world.Api[caller];
            if (body is not null) req.Content = TestApi.Json(body);
        }
        else
        {
            var session = world.Pages[caller];
            if (row.Fresh == Fresh.Session)
                session = caller switch
                {
                    Caller.Anonymous => world.NewAnonymous(),
                    Caller.Other => await world.SignInAsync(AccessWorld.EmailB, AccessWorld.MemberPassword),
                    Caller.Owner => await world.SignInAsync(AccessWorld.EmailA, AccessWorld.MemberPassword),
                    _ => await world.SignInAsync(PanelSetup.AdminEmail, PanelSetup.AdminPassword),
                };
            http = session.Http;
            if (body is not null && (body.StartsWith('{') || body.StartsWith('[')))
                req.Content = TestApi.Json(body);
            else if (row.Method is not ("GET" or "HEAD"))
            {
                var form = (body ?? "").Split('&', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('=', 2))
                    .Select(kv => new KeyValuePair<string, string>(kv[0], kv.Length > 1 ? kv[1] : "")).ToList();
                if (withToken) form.Add(new("__RequestVerificationToken", await world.AntiforgeryAsync(session, caller != Caller.Anonymous)));
                req.Content = new FormUrlEncodedContent(form);
            }
        }

        // A stream (SSE, log follow) of an ended deployment ends by itself; the timeout only guards against one that does not.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        int status;
        string? location;
        string text;
        try
        {
            using var res = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            status = (int)res.StatusCode;
            location = res.Headers.Location is { } l ? (l.IsAbsoluteUri ? l.PathAndQuery : l.OriginalString) : null;
            text = await res.Content.ReadAsStringAsync(cts.Token) + "\n" + res.Headers + res.Content.Headers;
        }
        catch (OperationCanceledException)
        {
            failures.Add($"{caller} {row.Method} {path}: no complete answer within 20 s");
            return new Reply(caller, row, path, 0, null, "");
        }

        var ok = status == wanted.Status && (wanted.Location is { } where
            ? location?.StartsWith(where, StringComparison.Ordinal) == true
            : status is < 300 or >= 400 || !(location ?? "").StartsWith("/login", StringComparison.Ordinal) && !(location ?? "").StartsWith("/forbidden", StringComparison.Ordinal));
        output.WriteLine($"{(ok ? "ok  " : "FAIL")} {caller,-9} {row.Method,-6} {path,-60} {status}{(location is null ? "" : " → " + location)}");
        if (ok && htmx && status == 401 && !text.Contains("HX-Redirect: /login", StringComparison.Ordinal))
            failures.Add($"{caller} {row.Method} {path}: a 401 to htmx without HX-Redirect: /login");
        if (ok && row.Says is { } says && !text.Contains(says, StringComparison.Ordinal))
            failures.Add($"{caller} {row.Method} {path}: answered {status} but does not say \"{says}\": {Excerpt(text)}");
        if (!ok) failures.Add($"{caller} {row.Method} {path}: expected {wanted}, got {status}{(location is null ? "" : " → " + location)}: {Excerpt(text)}");

        // A caller who may not destroy the object did not.
        var mayDestroy = wanted.Location is null && wanted.Status is >= 200 and < 400;
        if (row.Fresh is Fresh.Project or Fresh.Token && !mayDestroy && !await world.StillThereAsync(row.Fresh, t))
            failures.Add($"{caller} {row.Method} {path}: answered {status} but A's {row.Fresh} is gone");
        return new Reply(caller, row, path, status, location, text);
    }

    static string Excerpt(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
