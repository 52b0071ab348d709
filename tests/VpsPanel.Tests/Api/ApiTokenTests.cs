using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using VpsPanel.Features.Data;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Api;

public sealed class ApiTokenTests
{
    static HttpClient Api(PanelProcess panel, string? token)
    {
        var http = new HttpClient { BaseAddress = new Uri(panel.Url) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    static async Task<JsonNode> Problem(HttpResponseMessage res, HttpStatusCode status)
    {
        Assert.Equal(status, res.StatusCode);
        Assert.Equal("application/problem+json", res.Content.Headers.ContentType?.MediaType);
        var json = JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
        Assert.Equal((int)status, (int)json["status"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)json["detail"] ?? (string?)json["title"]));
        return json;
    }

    [Fact]
    public async Task Token_lifecycle_create_use_revoke_and_expire()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();

        var created = await PanelCli.RunAsync(["token", "create", "--user", PanelSetup.AdminEmail, "--name", "ci", "--data-dir", panel.DataDir]);
        Assert.Equal(0, created.ExitCode);
        var token = created.Stdout.Trim();
        Assert.StartsWith("vpp_", token);
        Assert.DoesNotContain('\n', token);

        using var api = Api(panel, token);
        var me = JsonNode.Parse(await api.GetStringAsync("/api/me"))!;
        Assert.Equal(PanelSetup.AdminEmail, (string?)me["email"]);
        Assert.Equal("admin", (string?)me["role"]);

        // The database holds a hash, never the token.
        var dbBytes = await File.ReadAllBytesAsync(Path.Combine(panel.DataDir, "vpspanel.db"));
        var walPath = Path.Combine(panel.DataDir, "vpspanel.db-wal");
        var all = dbBytes.Concat(File.Exists(walPath) ? await File.ReadAllBytesAsync(walPath) : []).ToArray();
        Assert.DoesNotContain(token, Encoding.Latin1.GetString(all));

        // A token made through the API, listed, then revoked: 401 from then on, with a problem+json body.
        using var create = await api.PostAsync("/api/tokens", new StringContent("""{"name":"second","expiresInDays":30}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        var second = JsonNode.Parse(await create.Content.ReadAsStringAsync())!;
        using var api2 = Api(panel, (string)second["token"]!);
        Assert.Equal(HttpStatusCode.OK, (await api2.GetAsync("/api/me")).StatusCode);
        var list = JsonNode.Parse(await api.GetStringAsync("/api/tokens"))!.AsArray();
        Assert.Equal(2, list.Count);
        Assert.All(list, t => Assert.Null(t!["token"]));
        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/api/tokens/{second["id"]}")).StatusCode);
        var revoked = await Problem(await api2.GetAsync("/api/me"), HttpStatusCode.Unauthorized);
        Assert.Contains("revoked", (string)revoked["detail"]!);
        await Problem(await api.DeleteAsync($"/api/tokens/{second["id"]}"), HttpStatusCode.NotFound);

        // Revoked from the CLI.
        var cliList = await PanelCli.RunAsync(["token", "list", "--data-dir", panel.DataDir]);
        Assert.Contains("\tci\t", cliList.Stdout);
        Assert.Contains("revoked", cliList.Stdout);
        var firstId = cliList.Stdout.Split('\n').Single(l => l.Contains("\tci\t")).Split('\t')[0];

        // Expiry: the token's time is up (moved into the past, as time passing would).
        using (var c = Db.OpenFile(Path.Combine(panel.DataDir, "vpspanel.db")))
            c.Execute("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = @id", new { id = long.Parse(firstId) });
        await Problem(await api.GetAsync("/api/me"), HttpStatusCode.Unauthorized);
        Assert.Contains("expired", (await PanelCli.RunAsync(["token", "list", "--data-dir", panel.DataDir])).Stdout);

        // A token that expires while the panel keeps its row (Api/BearerAuth keeps it until the next commit): it
        // stops working on time, with no commit in between.
        var soon = (await PanelCli.RunAsync(["token", "create", "--user", PanelSetup.AdminEmail, "--name", "soon", "--expires-days", "1", "--data-dir", panel.DataDir])).Stdout.Trim();
        var expiresAt = DateTime.UtcNow.AddSeconds(4);
        using (var c = Db.OpenFile(Path.Combine(panel.DataDir, "vpspanel.db")))
            c.Execute("UPDATE api_tokens SET expires_at = @at WHERE name = 'soon'", new { at = VpsPanel.Features.Shared.Clock.Format(expiresAt) });
        using var soonApi = Api(panel, soon);
        Assert.Equal(HttpStatusCode.OK, (await soonApi.GetAsync("/api/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await soonApi.GetAsync("/api/me")).StatusCode);
        await Task.Delay(expiresAt - DateTime.UtcNow + TimeSpan.FromMilliseconds(300));
        await Problem(await soonApi.GetAsync("/api/me"), HttpStatusCode.Unauthorized);
        // Its use was recorded (to the minute) before that.
        using (var c = Db.OpenFile(Path.Combine(panel.DataDir, "vpspanel.db")))
            Assert.NotNull(c.ExecuteScalar<string?>("SELECT last_used_at FROM api_tokens WHERE name = 'soon'"));

        var revokeMissing = await PanelCli.RunAsync(["token", "revoke", "9999", "--data-dir", panel.DataDir]);
        Assert.Equal(1, revokeMissing.ExitCode);
        Assert.Contains("no active token with id 9999", revokeMissing.Stderr);
    }

    [Fact]
    public async Task Documented_error_shapes_are_problem_json()
    {
        await using var panel = await PanelProcess.StartAsync();
        (await PanelSetup.SignedInAdminAsync(panel)).Dispose();
        var token = (await PanelCli.RunAsync(["token", "create", "--user", PanelSetup.AdminEmail, "--name", "t", "--data-dir", panel.DataDir])).Stdout.Trim();

        using var anonymous = Api(panel, null);
        Assert.Contains("needs a token", (string)(await Problem(await anonymous.GetAsync("/api/me"), HttpStatusCode.Unauthorized))["detail"]!);
        using var forged = Api(panel, "vpp_forged");
        await Problem(await forged.GetAsync("/api/me"), HttpStatusCode.Unauthorized);

        using var api = Api(panel, token);
        var malformed = await Problem(await api.PostAsync("/api/tokens", new StringContent("{not json", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        Assert.Contains("not valid JSON", (string)malformed["detail"]!);
        var invalid = await Problem(await api.PostAsync("/api/tokens", new StringContent("""{"name":"","expiresInDays":-3}""", Encoding.UTF8, "application/json")), HttpStatusCode.UnprocessableEntity);
        Assert.NotNull(invalid["errors"]!["name"]);
        Assert.NotNull(invalid["errors"]!["expiresInDays"]);
        var form = await Problem(await api.PostAsync("/api/tokens", new StringContent("name=x", Encoding.UTF8, "application/x-www-form-urlencoded")), HttpStatusCode.UnsupportedMediaType);
        Assert.Equal("Unsupported media type", (string)form["title"]!);
        await Problem(await api.GetAsync("/api/no-such-route"), HttpStatusCode.NotFound);

        // A field of the wrong type names the field, not the panel's C# type.
        var wrongType = (string)(await Problem(await api.PostAsync("/api/tokens", new StringContent("""{"name":5}""", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest))["detail"]!;
        Assert.Contains("The field `name` ($.name) has the wrong JSON type", wrongType);
        Assert.DoesNotContain("VpsPanel", wrongType);

        // A route that exists, with a method it does not take: 405 saying which it takes (not 404, not a sign-in redirect).
        using (var put = await api.PutAsync("/api/tokens", new StringContent("{}", Encoding.UTF8, "application/json")))
        {
            var wrongMethod = await Problem(put, HttpStatusCode.MethodNotAllowed);
            Assert.Equal("/api/tokens does not take PUT; it takes GET, POST. The routes are listed in /api/openapi.json.", (string)wrongMethod["detail"]!);
            Assert.Equal(["GET", "POST"], put.Content.Headers.Allow);
        }
        // A route with a constraint the value does not meet is still a 404, whatever the method: /api/tokens/{id:long}
        // takes only DELETE, but with a non-number there is no such route, so no 405 either.
        await Problem(await api.DeleteAsync("/api/tokens/not-a-number"), HttpStatusCode.NotFound);
        await Problem(await api.GetAsync("/api/tokens/not-a-number"), HttpStatusCode.NotFound);
        await Problem(await api.PostAsync("/api/deployments/abc/rollback", null), HttpStatusCode.NotFound);
        // With a number it is the route, and GET is the wrong method.
        using (var get = await api.GetAsync("/api/tokens/12"))
        {
            await Problem(get, HttpStatusCode.MethodNotAllowed);
            Assert.Equal(["DELETE"], get.Content.Headers.Allow);
        }

        // A signed-in browser session is not an API credential (no cookie auth, so no CSRF through the API).
        using var browser = new PanelClient(panel);
        await browser.LoginAsync(PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.Http.GetAsync("/api/me")).StatusCode);
    }

    [Fact]
    public async Task The_OpenAPI_document_is_valid_JSON_and_lists_the_routes()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var http = Api(panel, null);
        using var res = await http.GetAsync("/api/openapi.json");
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        var doc = JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
        Assert.StartsWith("3.", (string)doc["openapi"]!);
        var paths = doc["paths"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains("/api/me", paths);
        Assert.Contains("/api/tokens", paths);
        Assert.Contains("/api/tokens/{id}", paths);
    }

    [Fact]
    public async Task Tokens_page_creates_a_token_shown_once_and_revokes_it()
    {
        await using var panel = await PanelProcess.StartAsync();
        using var admin = await PanelSetup.SignedInAdminAsync(panel);
        var bad = await admin.SubmitAsync("/tokens", new() { ["name"] = "", ["expiresInDays"] = "0" }, action: "/tokens?handler=Create");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.Status);
        Assert.Contains("Give the token a name", bad.Doc.QuerySelector("#name + .field-error")!.TextContent);
        Assert.Contains("between 1 and", bad.Doc.QuerySelector("#expiresInDays + .field-error")!.TextContent);

        var page = await admin.SubmitAsync("/tokens", new() { ["name"] = "laptop", ["expiresInDays"] = "7" }, action: "/tokens?handler=Create");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        var token = page.Doc.QuerySelector("#new-token")!.GetAttribute("value")!;
        using var api = Api(panel, token);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/me")).StatusCode);

        var again = await admin.GetAsync("/tokens");
        Assert.DoesNotContain(token, again.Html);
        var row = again.Doc.QuerySelector("tr[data-token-id]")!;
        Assert.Contains("laptop", row.TextContent);
        Assert.Contains("active", row.TextContent);
        var revokeAction = row.QuerySelector("form")!.GetAttribute("action")!;
        Assert.Equal(HttpStatusCode.SeeOther, (await admin.SubmitAsync("/tokens", new(), action: revokeAction)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync("/api/me")).StatusCode);
    }
}
