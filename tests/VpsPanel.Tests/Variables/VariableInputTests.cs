using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;
using static VpsPanel.Tests.Variables.VariableTestKit;

namespace VpsPanel.Tests.Variables;

/// <summary>Every way to send variables, with bad input: the error names the line or item, and nothing changes.</summary>
public sealed class VariableInputTests : IAsyncLifetime
{
    PanelProcess _panel = null!;
    PanelClient _admin = null!;
    TestRepo _repo = null!;
    long _projectId;
    const string Slug = "vars-input";

    public async Task InitializeAsync()
    {
        _panel = await PanelProcess.StartAsync();
        _admin = await PanelSetup.SignedInAdminAsync(_panel);
        _repo = TestRepo.WithBusyboxApp("x", "vars-input");
        var page = await _admin.SubmitAsync("/projects/new", DeployEnv.ProjectFields(Slug, _repo.Bare, "vars-input.test"));
        Assert.Equal(HttpStatusCode.SeeOther, page.Status);
        _projectId = long.Parse(page.Response.Headers.Location!.OriginalString.Split('/').Last());
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        _repo.Dispose();
        await _panel.DisposeAsync();
    }

    string VarsPage => $"/projects/{_projectId}/variables";

    async Task<string> ExportAsync() => await _admin.Http.GetStringAsync($"{VarsPage}?handler=Export");

    async Task<Page> PasteAsync(string text, bool secret = false) =>
        await _admin.SubmitAsync(VarsPage, new() { ["env"] = text, ["newSecret"] = secret ? "true" : "", ["newRuntime"] = "true" }, $"{VarsPage}?handler=Env");

    async Task<Page> SaveOneAsync(string key, string value, bool secret = false, bool build = false, bool run = true) =>
        await _admin.SubmitAsync(VarsPage, new()
        {
            ["key"] = key, ["value"] = value, ["secret"] = secret ? "true" : "", ["buildTime"] = build ? "true" : "", ["runtime"] = run ? "true" : "",
        }, $"{VarsPage}?handler=Save");

    [Fact]
    public async Task Pasted_env_with_bad_lines_is_refused_whole_with_the_line_numbers()
    {
        Assert.Equal(HttpStatusCode.SeeOther, (await PasteAsync("API_KEY=first-secret\n", secret: true)).Status);
        // An existing key keeps its flags (still secret, still masked); the new one takes the defaults (not secret).
        Assert.Equal(HttpStatusCode.SeeOther, (await PasteAsync("KEEP=me\nAPI_KEY=********\n")).Status);
        Assert.Equal("KEEP=me\nAPI_KEY=first-secret\n", await ExportAsync());
        var before = await ExportAsync();

        var page = await PasteAsync("# header\nGOOD=1\n2BAD=x\nGOOD=again\nNOEQUALS\nQUOTE=\"never closed\n");
        Assert.Equal(HttpStatusCode.UnprocessableContent, page.Status);
        var errors = page.Texts("#env-form .field-error").ToList();
        Assert.Contains(errors, e => e.StartsWith("line 3:") && e.Contains("\"2BAD\" is not a valid key"));
        Assert.Contains("line 4: GOOD is already set on line 2", errors);
        Assert.Contains("line 5: expected KEY=VALUE, found no '='", errors);
        Assert.Contains(errors, e => e.StartsWith("line 6: the double quote opened here is never closed"));
        // The text comes back for fixing; nothing was saved.
        Assert.Contains("NOEQUALS", page.Text("#env"));
        Assert.Equal(before, await ExportAsync());

        var shortSecret = await PasteAsync("KEEP=me\nAPI_KEY=********\nPIN=123\n", secret: true);
        Assert.Equal(HttpStatusCode.UnprocessableContent, shortSecret.Status);
        Assert.StartsWith("line 3: the secret PIN is shorter than 4 characters", shortSecret.Text("#env-form .field-error"));
        Assert.Equal(before, await ExportAsync());

        // Leaving the masked line as the page shows it keeps the secret; a removed line deletes its variable.
        var shown = (await _admin.GetAsync(VarsPage)).Text("#env")!;
        Assert.Contains("API_KEY=\"********\"", shown);
        Assert.DoesNotContain("first-secret", (await _admin.GetAsync(VarsPage)).Html);
        Assert.Equal(HttpStatusCode.SeeOther, (await PasteAsync(shown.Replace("KEEP=me\n", "") + "\nADDED='x y'\n")).Status);
        Assert.Equal("API_KEY=first-secret\nADDED=\"x y\"\n", await ExportAsync());
    }

    [Fact]
    public async Task The_single_form_refuses_bad_input_keeps_a_masked_secret_and_replaces_it_unseen()
    {
        Assert.Equal(HttpStatusCode.SeeOther, (await SaveOneAsync("DB_PASSWORD", "hunter2-long", secret: true)).Status);
        var before = await ExportAsync();
        foreach (var (key, value, secret, build, run, error) in new[]
        {
            ("bad key", "x", false, false, true, "\"bad key\" is not a valid key"),
            ("PIN", "123", true, false, true, "the secret PIN is shorter than 4 characters"),
            ("NOWHERE", "x", false, false, false, "NOWHERE must be available at build time, at run time, or both"),
            ("DB_PASSWORD", "********", false, false, true, "to make DB_PASSWORD not secret, enter its value again"),
            ("NEW", "********", true, false, true, "******** stands for a hidden secret"),
        })
        {
            var page = await SaveOneAsync(key, value, secret, build, run);
            Assert.Equal(HttpStatusCode.UnprocessableContent, page.Status);
            Assert.Contains(error, page.Text("#variable-form .field-error"));
            Assert.Equal(before, await ExportAsync());
        }

        // The edit link fills the form with the mask, never the value; saving it unchanged keeps the value.
        var edit = await _admin.GetAsync($"{VarsPage}?edit=DB_PASSWORD");
        Assert.Equal("********", edit.Text("#value"));
        Assert.DoesNotContain("hunter2-long", edit.Html);
        Assert.Equal(HttpStatusCode.SeeOther, (await SaveOneAsync("DB_PASSWORD", "********", secret: true, build: true)).Status);
        Assert.Equal("DB_PASSWORD=hunter2-long\n", await ExportAsync());
        Assert.Contains("build + run", (await _admin.GetAsync(VarsPage)).Text("tr[data-key=DB_PASSWORD]"));
        // Replaced without ever being shown.
        Assert.Equal(HttpStatusCode.SeeOther, (await SaveOneAsync("DB_PASSWORD", "correct-horse", secret: true)).Status);
        Assert.Equal("DB_PASSWORD=correct-horse\n", await ExportAsync());
        Assert.Equal(HttpStatusCode.SeeOther, (await _admin.SubmitAsync(VarsPage, new() { ["key"] = "DB_PASSWORD" }, $"{VarsPage}?handler=Delete")).Status);
        Assert.Equal("", await ExportAsync());
    }

    [Fact]
    public async Task The_api_masks_secrets_replaces_the_set_and_refuses_bad_lists_naming_the_item()
    {
        using var api = await ApiAsync(_panel);
        await PutOkAsync(api, Slug, """[{"key":"A","value":"1"},{"key":"S","value":"api-secret-1","secret":true,"buildTime":true}]""");
        var list = await GetAsync(api, Slug);
        Assert.Equal("""[{"key":"A","value":"1","secret":false,"buildTime":false,"runtime":true},{"key":"S","value":"********","secret":true,"buildTime":true,"runtime":true}]""", list.ToJsonString());

        foreach (var (body, error) in new[]
        {
            ("""[{"key":"A","value":"1"},{"key":"1A","value":"2"}]""", "item 1 (1A): \"1A\" is not a valid key"),
            ("""[{"key":"A","value":"1"},{"key":"A","value":"2"}]""", "item 1 (A): A is already set on item 0 (A)"),
            ("""[{"value":"1"}]""", "item 0: the key is missing"),
            ("""[null]""", "item 0: expected an object"),
            ("""[{"key":"P","value":"abc","secret":true}]""", "item 0 (P): the secret P is shorter than 4 characters"),
            ("""[{"key":"A","value":"********"}]""", "item 0 (A): ******** stands for a hidden secret"),
        })
        {
            using var res = await PutAsync(api, Slug, body);
            Assert.Equal(HttpStatusCode.UnprocessableContent, res.StatusCode);
            Assert.Equal("application/problem+json", res.Content.Headers.ContentType?.MediaType);
            var problem = JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
            Assert.Contains(error, (string)problem["detail"]!);
            Assert.Contains(problem["errors"]!["variables"]!.AsArray(), e => ((string)e!).StartsWith(error));
        }
        using (var notJson = await PutAsync(api, Slug, "[{\"key\":"))
            Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        using (var missing = await api.GetAsync("/api/projects/no-such-project/variables"))
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(list.ToJsonString(), (await GetAsync(api, Slug)).ToJsonString());
        Assert.Equal("A=1\nS=api-secret-1\n", await ExportAsync());

        Assert.Contains("/api/projects/{slug}/variables", await api.GetStringAsync("/api/openapi.json"));

        // The set is replaced: what is left out is gone; the secret sent back masked is kept.
        await PutOkAsync(api, Slug, """[{"key":"S","value":"********","secret":true}]""");
        Assert.Equal("S=api-secret-1\n", await ExportAsync());
    }

    [Fact]
    public async Task Members_cannot_reach_other_projects_variables_or_the_shared_ones()
    {
        var add = await PanelCli.RunAsync(["user", "add", "--email", "member@example.com", "--data-dir", _panel.DataDir], stdin: "a member password\n");
        Assert.Equal(0, add.ExitCode);
        using var member = new PanelClient(_panel);
        Assert.True((await member.LoginAsync("member@example.com", "a member password")).Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther);
        Assert.Equal(HttpStatusCode.OK, (await member.GetAsync("/projects")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await member.GetAsync(VarsPage)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await member.Http.GetAsync($"{VarsPage}?handler=Export")).StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, (await member.GetAsync("/variables")).Status);
        Assert.NotEqual(HttpStatusCode.OK, (await member.Http.GetAsync("/variables?handler=Export")).StatusCode);

        var token = await PanelCli.RunAsync(["token", "create", "--user", "member@example.com", "--name", "m", "--data-dir", _panel.DataDir]);
        using var api = new HttpClient { BaseAddress = new Uri(_panel.Url) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Stdout.Trim());
        using var get = await api.GetAsync($"/api/projects/{Slug}/variables");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        using var put = await PutAsync(api, Slug, """[{"key":"X","value":"1"}]""");
        Assert.Equal(HttpStatusCode.NotFound, put.StatusCode);
        Assert.Equal("", await ExportAsync());
    }

    [Fact]
    public async Task Including_an_unknown_shared_variable_is_refused()
    {
        Assert.Equal(HttpStatusCode.SeeOther, (await _admin.SubmitAsync("/variables", new() { ["key"] = "REAL", ["value"] = "v", ["runtime"] = "true" }, "/variables?handler=Save")).Status);
        var page = await _admin.SubmitAsync(VarsPage, new() { ["include"] = "MADE_UP" }, $"{VarsPage}?handler=Shared");
        Assert.Equal(HttpStatusCode.UnprocessableContent, page.Status);
        Assert.Equal("MADE_UP is not a shared variable this project may use; an admin can open one to it on the Shared variables page. Nothing was changed.", page.Text(".field-error"));
        Assert.False(page.Doc.QuerySelector("#shared-form input[value=REAL]")!.HasAttribute("checked"));
        var bad = await _admin.SubmitAsync("/variables", new() { ["env"] = "OK=1\nOK=2\n", ["newRuntime"] = "true" }, "/variables?handler=Env");
        Assert.Equal(HttpStatusCode.UnprocessableContent, bad.Status);
        Assert.Equal("line 2: OK is already set on line 1", bad.Text("#env-form .field-error"));
        Assert.Equal("REAL=v\n", await _admin.Http.GetStringAsync("/variables?handler=Export"));
    }
}
